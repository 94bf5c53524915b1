// Package flavour picks the vector index flavour a Redis server supports,
// opens it, and moves stored vectors from one flavour to another.
//
// Two flavours implement store.VectorIndex:
//
//   - "vectorset" (store/vectorset): Redis 8 vector sets, VADD/VSIM. Every
//     Redis 8 server has them compiled in, including Debian's and Ubuntu's
//     packages, which ship no Query Engine.
//   - "querying" (store/redisearch): the Redis Query Engine, FT.CREATE and
//     FT.SEARCH over hashes. Redis 8 built with its modules (official images
//     and packages), Redis Stack 7.x and Redis Cloud/Software have it.
//
// Detect asks the server which of the two it has; Open picks one ("auto") or
// checks that the forced one is there. Rebuild re-indexes stored chunks into
// a new index without re-reading the CRM, and Switch records the active
// flavour in Redis so a change of flavour triggers that rebuild once.
package flavour

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/crmpulse/crmpulse/store"
	"github.com/crmpulse/crmpulse/store/redisearch"
	"github.com/crmpulse/crmpulse/store/vectorset"
)

// Flavour names, as store.VectorIndex.Flavour reports them, plus Auto.
const (
	Auto      = "auto"
	VectorSet = "vectorset"
	Querying  = redisearch.FlavourName // "querying"
)

// ErrUnsupported: the server lacks what the requested flavour needs.
var ErrUnsupported = errors.New("index flavour not supported by this Redis server")

// Capabilities are what a server offers for vector search.
type Capabilities struct {
	VectorSets  bool   // VADD/VSIM (Redis 8+)
	QueryEngine bool   // FT.CREATE/FT.SEARCH (Query Engine)
	Version     string // redis_version from INFO server ("" if hidden)
}

// Detect reports the server's vector capabilities. It asks COMMAND INFO
// FT.SEARCH VSIM, which returns one entry per name and nil for a command the
// server does not have; where COMMAND is not allowed (some managed services
// rename or block it) it falls back to MODULE LIST ("search", "vectorset").
func Detect(ctx context.Context, rdb redis.UniversalClient) (Capabilities, error) {
	var c Capabilities
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return c, fmt.Errorf("detect redis capabilities: INFO server: %w", err)
	}
	c.Version = infoField(info, "redis_version")

	entries, err := rdb.Do(ctx, "COMMAND", "INFO", "FT.SEARCH", "VSIM").Slice()
	if err == nil && len(entries) == 2 {
		c.QueryEngine = entries[0] != nil
		c.VectorSets = entries[1] != nil
		return c, nil
	}
	mods, merr := rdb.Do(ctx, "MODULE", "LIST").Slice()
	if merr != nil {
		if err == nil {
			err = fmt.Errorf("COMMAND INFO returned %d entries for 2 names", len(entries))
		}
		return c, fmt.Errorf("detect redis capabilities: COMMAND INFO: %v; MODULE LIST: %w", err, merr)
	}
	for _, m := range mods {
		switch strings.ToLower(moduleName(m)) {
		case "search", "ft":
			c.QueryEngine = true
		case "vectorset":
			c.VectorSets = true
		}
	}
	return c, nil
}

// infoField returns the value of "key:value" in an INFO reply.
func infoField(info, key string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), key+":"); ok {
			return v
		}
	}
	return ""
}

// moduleName reads the name of one MODULE LIST entry: a flat name/value
// list on RESP2, a map on RESP3.
func moduleName(entry any) string {
	switch e := entry.(type) {
	case []any:
		for i := 0; i+1 < len(e); i += 2 {
			if k, _ := e[i].(string); k == "name" {
				v, _ := e[i+1].(string)
				return v
			}
		}
	case map[any]any:
		v, _ := e["name"].(string)
		return v
	case map[string]any:
		v, _ := e["name"].(string)
		return v
	}
	return ""
}

// Options choose and tune the flavour. The zero value means Auto with each
// flavour's defaults.
type Options struct {
	Flavour     string              // Auto ("" too), VectorSet or Querying
	VectorSet   *vectorset.Options  // tuning of the vector-set flavour
	QueryEngine *redisearch.Options // tuning of the Query Engine flavour
	Detected    *Capabilities       // skip detection and use these
}

// Choose returns the flavour to use for want on a server with c.
//
// Auto prefers vector sets when the server has them: every Redis 8 has them
// compiled in (Debian's and Ubuntu's Redis 8 have nothing else), they need no
// schema, and they are the flavour this project tests on every run. The
// Query Engine is chosen when it is the only one present (Redis Stack 7.x, or
// a Redis 8 with vector sets disabled), or when forced.
func Choose(want string, c Capabilities) (string, error) {
	switch want {
	case Auto, "":
		switch {
		case c.VectorSets:
			return VectorSet, nil
		case c.QueryEngine:
			return Querying, nil
		}
		return "", fmt.Errorf("%w: Redis %s has neither vector sets (Redis 8+) nor the Query Engine (FT.*); run Redis 8, Redis Stack or Redis Cloud", ErrUnsupported, versionOrUnknown(c))
	case VectorSet:
		if !c.VectorSets {
			return "", fmt.Errorf("%w: flavour %q needs vector sets (VADD/VSIM, Redis 8+), which Redis %s lacks; use flavour %q or auto", ErrUnsupported, VectorSet, versionOrUnknown(c), Querying)
		}
		return VectorSet, nil
	case Querying:
		if !c.QueryEngine {
			return "", fmt.Errorf("%w: flavour %q needs the Redis Query Engine (FT.CREATE/FT.SEARCH), which Redis %s lacks (Debian/Ubuntu Redis 8 packages ship vector sets only); use flavour %q or auto, or run Redis 8 with modules, Redis Stack or Redis Cloud",
				ErrUnsupported, Querying, versionOrUnknown(c), VectorSet)
		}
		return Querying, nil
	}
	return "", fmt.Errorf("unknown index flavour %q (want %s, %s or %s)", want, Auto, VectorSet, Querying)
}

func versionOrUnknown(c Capabilities) string {
	if c.Version == "" {
		return "(version unknown)"
	}
	return c.Version
}

// IndexName is the name Open gives the index of flavour f for base name:
// base + ":vs" or base + ":qe". The two flavours' keys never overlap, so
// both can exist during a switch.
func IndexName(name, f string) string {
	if f == Querying {
		return name + ":qe"
	}
	return name + ":vs"
}

// Open returns the index called name (see IndexName) in the flavour
// opts.Flavour asks for; Auto picks one as Choose describes. It sends only
// the detection commands; call Ensure on the result. The Query Engine
// flavour needs a *redis.Client on database 0 and holds a connection pool of
// its own: the returned index then implements io.Closer.
func Open(ctx context.Context, rdb redis.UniversalClient, name string, opts Options) (store.VectorIndex, error) {
	if name == "" {
		return nil, errors.New("open vector index: empty name")
	}
	var caps Capabilities
	if opts.Detected != nil {
		caps = *opts.Detected
	} else {
		var err error
		if caps, err = Detect(ctx, rdb); err != nil {
			return nil, fmt.Errorf("open vector index %q: %w", name, err)
		}
	}
	f, err := Choose(opts.Flavour, caps)
	if err != nil {
		return nil, fmt.Errorf("open vector index %q: %w", name, err)
	}
	if f == VectorSet {
		return vectorset.New(rdb, IndexName(name, f), opts.VectorSet), nil
	}
	c, ok := rdb.(*redis.Client)
	if !ok {
		return nil, fmt.Errorf("open vector index %q: %w: flavour %q needs a single-node client, got %T (Query Engine indexes on an OSS cluster are per shard)", name, ErrUnsupported, f, rdb)
	}
	if db := c.Options().DB; db != 0 {
		return nil, fmt.Errorf("open vector index %q: %w: the Query Engine indexes database 0 only, the client uses database %d", name, ErrUnsupported, db)
	}
	return redisearch.New(c, IndexName(name, f), opts.QueryEngine)
}
