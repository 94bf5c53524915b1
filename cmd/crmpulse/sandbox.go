package main

func init() {
	register(&command{name: "sandbox", summary: "run the offline CRM sandbox", run: notBuilt("sandbox", "run the offline CRM sandbox")})
}
