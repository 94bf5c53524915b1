package main

func init() {
	register(&command{name: "ingest", summary: "ingest knowledge documents", run: notBuilt("ingest", "ingest knowledge documents")})
}
