package main

func init() {
	register(&command{name: "serve", summary: "run the scheduling daemon", run: notBuilt("serve", "run the scheduling daemon")})
}
