// Command crmpulse turns a company's CRM into a customer-insight system: it
// syncs Salesforce and HubSpot into Redis vector indexes, computes churn,
// next best actions, cross-sell and segments, and writes them back.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
