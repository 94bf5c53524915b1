package main

func init() {
	register(&command{name: "demo", summary: "run the demo on built-in defaults", run: notBuilt("demo", "run the demo on built-in defaults")})
}
