package main

func init() {
	register(&command{name: "sync", summary: "sync CRM records into Redis", run: notBuilt("sync", "sync CRM records into Redis")})
}
