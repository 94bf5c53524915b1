package main

func init() {
	register(&command{name: "insights", summary: "compute and show account insights", run: notBuilt("insights", "compute and show account insights")})
}
