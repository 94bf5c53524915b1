package main

func init() {
	register(&command{name: "bench", summary: "print the benchmark table", run: notBuilt("bench", "print the benchmark table")})
}
