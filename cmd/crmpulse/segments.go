package main

func init() {
	register(&command{name: "segments", summary: "design, apply and export segments", run: notBuilt("segments", "design, apply and export segments")})
}
