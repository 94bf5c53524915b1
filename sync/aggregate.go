package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/crmpulse/crmpulse/store"
)

// Aggregate is the per-account summary the engine maintains for insights,
// recomputed whenever one of the account's records changes and stored as
// JSON at AggregateKey.
type Aggregate struct {
	Conn     string `json:"conn"`
	Account  string `json:"account"`
	Name     string `json:"name,omitempty"`
	Industry string `json:"industry,omitempty"`
	SizeBand string `json:"size_band,omitempty"`
	Country  string `json:"country,omitempty"`
	// Purchases are the won deals, oldest first.
	Purchases []Purchase `json:"purchases"`
	WonTotal  float64    `json:"won_total"`
	// Open are the open opportunities, by close date.
	Open         []OpenOpportunity `json:"open"`
	OpenPipeline float64           `json:"open_pipeline"`
	LostDeals    int               `json:"lost_deals"`
	// LastContact is the date of the latest activity (zero when none).
	LastContact     time.Time `json:"last_contact,omitzero"`
	LastContactKind string    `json:"last_contact_kind,omitempty"`
	// Engagement counts activities per ISO week and kind, oldest first.
	Engagement []WeekCount `json:"engagement"`
	Activities int         `json:"activities"`
	Contacts   int         `json:"contacts"`
}

// Purchase is a won deal.
type Purchase struct {
	ID       string    `json:"id"`
	Date     time.Time `json:"date,omitzero"`
	Amount   float64   `json:"amount"`
	Products []string  `json:"products,omitempty"`
}

// OpenOpportunity is a deal still open.
type OpenOpportunity struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Stage     string    `json:"stage,omitempty"`
	Amount    float64   `json:"amount"`
	CloseDate time.Time `json:"close_date,omitzero"`
}

// WeekCount is the number of activities of one kind in one ISO week
// ("2025-W07").
type WeekCount struct {
	Week  string `json:"week"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

func buildAggregate(conn, account string, recs []stored) Aggregate {
	a := Aggregate{Conn: conn, Account: account, Purchases: []Purchase{}, Open: []OpenOpportunity{}, Engagement: []WeekCount{}}
	weeks := map[[2]string]int{}
	for _, r := range recs {
		f := r.Fields
		switch r.Ref.Object {
		case store.TypeAccount:
			if r.Ref.ID != account {
				continue
			}
			a.Name, a.Industry, a.Country = f.str(connectors.FName), f.str(connectors.FIndustry), f.str(connectors.FCountry)
			a.SizeBand = sizeBand(f.num(connectors.FEmployees))
		case store.TypeOpportunity:
			if r.Account != account {
				continue
			}
			o := opportunityOf(r)
			switch {
			case o.Won:
				a.Purchases = append(a.Purchases, Purchase{ID: o.ID, Date: o.Closed, Amount: o.Amount, Products: o.Products})
				a.WonTotal += o.Amount
			case o.Lost:
				a.LostDeals++
			default:
				a.Open = append(a.Open, OpenOpportunity{ID: o.ID, Name: o.Name, Stage: o.Stage, Amount: o.Amount, CloseDate: f.time(connectors.FCloseDate)})
				a.OpenPipeline += o.Amount
			}
		case store.TypeActivity:
			if r.Account != account {
				continue
			}
			a.Activities++
			d := activityDate(r)
			kind := f.str(connectors.FKind)
			if d.After(a.LastContact) {
				a.LastContact, a.LastContactKind = d, kind
			}
			y, w := d.ISOWeek()
			weeks[[2]string{fmt.Sprintf("%04d-W%02d", y, w), kind}]++
		case store.TypeContact:
			if r.Account == account {
				a.Contacts++
			}
		}
	}
	slices.SortStableFunc(a.Purchases, func(x, y Purchase) int {
		if c := x.Date.Compare(y.Date); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	slices.SortStableFunc(a.Open, func(x, y OpenOpportunity) int {
		if c := x.CloseDate.Compare(y.CloseDate); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	for k, n := range weeks {
		a.Engagement = append(a.Engagement, WeekCount{Week: k[0], Kind: k[1], Count: n})
	}
	slices.SortFunc(a.Engagement, func(x, y WeekCount) int {
		if c := strings.Compare(x.Week, y.Week); c != 0 {
			return c
		}
		return strings.Compare(x.Kind, y.Kind)
	})
	return a
}

// LoadAggregate returns the stored aggregate of an account; the error wraps
// store.ErrNotFound when there is none (not synced yet, or no records).
func LoadAggregate(ctx context.Context, st *store.Store, conn, account string) (Aggregate, error) {
	var a Aggregate
	s, err := st.Client().Get(ctx, AggregateKey(st, conn, account)).Result()
	if errors.Is(err, redis.Nil) {
		return a, fmt.Errorf("aggregate of %s:%s: %w", conn, account, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("aggregate of %s:%s: %w", conn, account, err)
	}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return a, fmt.Errorf("aggregate of %s:%s: %w", conn, account, err)
	}
	return a, nil
}
