// Package crmhist reads account histories (churn.AccountHistory) straight
// from a CRM connection: every live account, opportunity and activity,
// read through the connection's change feed from the beginning. It serves
// segmentation and tests where no synced store is at hand; the sync engine's
// store-backed histories are preferred for production runs.
//
// Mapping: won opportunities are purchases (close date, amount, products);
// the next renewal is the earliest close date, on or after now, of an open
// opportunity whose type or name says renewal (Renewal, 更新); activities
// keep their date, kind, subject, body and first contact.
package crmhist

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/insights/churn"
)

// Load reads every live account with its opportunities and activities and
// returns their histories sorted by account id. now is the reference for
// "next renewal" (normally the CRM's clock). Records whose account is not
// among the accounts are ignored.
func Load(ctx context.Context, conn *connectors.Conn, now time.Time) ([]churn.AccountHistory, error) {
	by := map[string]*churn.AccountHistory{}
	read := func(obj connectors.Object, fn func(connectors.Record) error) error {
		_, err := conn.ReadChanges(ctx, obj, connectors.Cursor{}, func(p connectors.Page) error {
			for _, r := range p.Records {
				if r.Deleted {
					continue
				}
				if err := fn(r); err != nil {
					return fmt.Errorf("%s %s: %w", obj, r.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", obj, err)
		}
		return nil
	}
	if err := read(connectors.Accounts, func(r connectors.Record) error {
		a, err := r.Account()
		if err != nil {
			return err
		}
		by[a.ID] = &churn.AccountHistory{ID: a.ID, Name: a.Name, Industry: a.Industry, Employees: int(a.Employees), FirstSeen: a.Created, Owner: a.Owner}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := read(connectors.Opportunities, func(r connectors.Record) error {
		o, err := r.Opportunity()
		if err != nil {
			return err
		}
		h := by[o.AccountID]
		if h == nil {
			return nil
		}
		co := churn.Opportunity{ID: o.ID, Name: o.Name, Stage: o.Stage, Amount: o.Amount, Created: o.Created,
			Won: o.IsWon, Lost: o.IsClosed && !o.IsWon, LossReason: o.LossReason, Competitor: o.Competitor, Products: o.Products}
		if o.IsClosed {
			co.Closed = o.CloseDate
		}
		h.Opportunities = append(h.Opportunities, co)
		if o.IsWon && !o.CloseDate.IsZero() {
			h.Purchases = append(h.Purchases, churn.Purchase{ID: o.ID, Date: o.CloseDate, Amount: o.Amount, Products: o.Products})
		}
		if !o.IsClosed && isRenewal(o) && !o.CloseDate.Before(now) && (h.Renewal.IsZero() || o.CloseDate.Before(h.Renewal)) {
			h.Renewal = o.CloseDate
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := read(connectors.Activities, func(r connectors.Record) error {
		a, err := r.Activity()
		if err != nil {
			return err
		}
		h := by[a.AccountID]
		if h == nil {
			return nil
		}
		ca := churn.Activity{ID: a.ID, Date: a.Date, Kind: a.Kind, Subject: a.Subject, Text: a.Body}
		if len(a.ContactIDs) > 0 {
			ca.ContactID = a.ContactIDs[0]
		}
		h.Activities = append(h.Activities, ca)
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]churn.AccountHistory, 0, len(by))
	for _, h := range by {
		sort.Slice(h.Purchases, func(i, j int) bool { return h.Purchases[i].Date.Before(h.Purchases[j].Date) })
		sort.Slice(h.Activities, func(i, j int) bool { return h.Activities[i].Date.Before(h.Activities[j].Date) })
		for _, p := range h.Purchases {
			if h.FirstSeen.IsZero() || p.Date.Before(h.FirstSeen) {
				h.FirstSeen = p.Date
			}
		}
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func isRenewal(o connectors.Opportunity) bool {
	s := strings.ToLower(o.Type + " " + o.Name)
	return strings.Contains(s, "renewal") || strings.Contains(s, "更新")
}
