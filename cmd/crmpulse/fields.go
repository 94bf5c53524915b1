package main

func init() {
	register(&command{name: "fields", summary: "validate and provision CRM fields", run: notBuilt("fields", "validate and provision CRM fields")})
}
