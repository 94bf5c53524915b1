package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/url"
	"sync"

	"github.com/crmpulse/crmpulse/connectors"
	"github.com/simpleforce/simpleforce"
)

// queryResult is a SOQL page (simpleforce's shape).
type queryResult = simpleforce.QueryResult

// callTransport binds one call's ctx and headers to every request a
// simpleforce client sends, and answers non-2xx responses with our typed
// error so simpleforce never reads (or logs) an error body.
type callTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	header http.Header
}

func (t *callTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(t.ctx)
	for k, v := range t.header {
		r.Header[k] = v
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		return nil, responseError(resp.StatusCode, b)
	}
	return resp, nil
}

// sf returns a simpleforce client for one call under ctx.
func (d *Driver) sf(ctx context.Context, header http.Header) (*simpleforce.Client, error) {
	base, err := d.instanceURL(ctx)
	if err != nil {
		return nil, err
	}
	quietStdLog()
	c := simpleforce.NewClient(base, simpleforce.DefaultClientID, d.version)
	// The session id is a placeholder: AuthTransport sets the real bearer
	// token on every request, refreshing it when Salesforce rejects it.
	c.SetSidLoc("session-managed-by-transport", base)
	c.SetHttpClient(&http.Client{Transport: &callTransport{ctx: ctx, base: d.client.Transport, header: header}})
	return c, nil
}

func (d *Driver) queryHeader() http.Header {
	h := http.Header{}
	h.Set("Sforce-Query-Options", "batchSize="+itoa(max(200, d.opt.PageSize)))
	h.Set("Sforce-Call-Options", "client=crmpulse")
	return h
}

// query runs SOQL (all=true: queryAll) and calls fn with each page, following
// nextRecordsUrl with simpleforce.
func (d *Driver) query(ctx context.Context, soql string, all bool, fn func(*queryResult) error) error {
	c, err := d.sf(ctx, d.queryHeader())
	if err != nil {
		return err
	}
	var res *queryResult
	if all {
		// simpleforce has no queryAll: first page through our helper.
		var qr queryResult
		if _, err := d.restWithHeader(ctx, "GET", d.dataPath("queryAll?q="+url.QueryEscape(soql)), d.queryHeader(), &qr); err != nil {
			return err
		}
		res = &qr
	} else {
		res, err = c.Query(soql)
		if err != nil {
			return sfErr(err)
		}
	}
	for {
		if err := fn(res); err != nil {
			return err
		}
		if res.Done || res.NextRecordsURL == "" {
			return nil
		}
		next := res.NextRecordsURL
		res, err = c.Query(next)
		if err != nil {
			return sfErr(err)
		}
	}
}

// sfErr unwraps what simpleforce returns (the http.Client's *url.Error
// around our typed error) into a connector error.
func sfErr(err error) error {
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return ce
	}
	var se simpleforce.SalesforceError
	if errors.As(err, &se) {
		return &connectors.Error{Status: se.HttpCode, Code: se.ErrorCode, Message: se.ErrorMessage, Class: classify(se.HttpCode, se.ErrorCode, se.ErrorMessage)}
	}
	var je *json.SyntaxError
	if errors.As(err, &je) {
		return &connectors.Error{Code: "BAD_RESPONSE", Message: "decode query page: " + err.Error(), Class: connectors.ErrPermanent}
	}
	return convertErr(err)
}

func (d *Driver) restWithHeader(ctx context.Context, method, path string, h http.Header, out any) (int, error) {
	return d.rest(withHeader(ctx, h), method, path, nil, out)
}

type headerKey struct{}

func withHeader(ctx context.Context, h http.Header) context.Context {
	return context.WithValue(ctx, headerKey{}, h)
}

func headerFrom(ctx context.Context) http.Header {
	h, _ := ctx.Value(headerKey{}).(http.Header)
	return h
}

// simpleforce prints request URLs and response bodies with the standard
// logger. stdLogFilter drops those lines and passes every other line to the
// writer it wraps.
type stdLogFilter struct{ next io.Writer }

var simpleforcePrefix = []byte("[simpleforce]")

func (f *stdLogFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, simpleforcePrefix) {
		return len(p), nil
	}
	return f.next.Write(p)
}

var quietMu sync.Mutex

// quietStdLog installs the filter on the standard logger unless it is
// already there (slog.SetDefault and log.SetOutput replace it; every
// simpleforce call re-checks).
func quietStdLog() {
	quietMu.Lock()
	defer quietMu.Unlock()
	if _, ok := log.Writer().(*stdLogFilter); !ok {
		log.SetOutput(&stdLogFilter{next: log.Writer()})
	}
}
