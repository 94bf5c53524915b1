package main

func init() {
	register(&command{name: "writeback", summary: "write insights back to the CRM", run: notBuilt("writeback", "write insights back to the CRM")})
}
