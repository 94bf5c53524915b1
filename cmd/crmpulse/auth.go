package main

func init() {
	register(&command{name: "auth", summary: "log in to a CRM connection", run: notBuilt("auth", "log in to a CRM connection")})
}
