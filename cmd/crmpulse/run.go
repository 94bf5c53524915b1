package main

func init() {
	register(&command{name: "run", summary: "run one full cycle", run: notBuilt("run", "run one full cycle")})
}
