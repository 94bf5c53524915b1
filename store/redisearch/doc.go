// Package redisearch is the Redis Query Engine flavour of store.VectorIndex:
// one HASH per chunk, indexed by FT.CREATE and searched with hybrid KNN
// queries through github.com/RediSearch/redisearch-go/v2.
//
// It needs a server with the FT.* commands: Redis 8 built with its modules
// (the official images and packages), Redis Stack 7.x, or Redis Cloud/Software.
// Debian's and Ubuntu's Redis 8 packages have vector sets only; there the
// first FT command fails with an error wrapping ErrNoQueryEngine, and
// store/flavour picks the vector-set flavour instead.
//
// # Layout
//
// For an index named n (schema version v), e.g. "crmpulse:idx:crm:qe" as
// store/flavour names it:
//
//	n:doc:<chunk id>   HASH: vec (FP32 little-endian blob), one field per
//	                   non-zero attribute (type conn account record industry
//	                   size stage segment kind date amount)
//	n:meta             STRING: JSON {embedder, dimension, schema, index}
//	n:v<v>             the FT index (ON HASH PREFIX 1 n:doc:)
//	n                  alias of the current index; queries go through it
//
// The hashes are written with go-redis (HSET), never with redisearch-go's
// FT.ADD paths; the index picks them up as they are written. A schema change
// creates n:v<v+1> over the same hashes, moves the alias and drops the old
// index without its documents.
//
// Every categorical attribute is a CASESENSITIVE TAG (exact matches, like the
// vector-set flavour) whose separator is the ASCII unit separator 0x1f, so
// commas, pipes and spaces inside values stay part of the value. Values are
// backslash-escaped in queries; a value containing 0x1f is refused on write.
// The Query Engine trims leading and trailing white space from tag values.
//
// # Queries
//
// Search sends
//
//	FT.SEARCH n "(<filters>)=>[KNN $k @vec $blob EF_RUNTIME $ef AS dist]"
//	  LIMIT 0 k RETURN 12 dist type ... amount SORTBY dist ASC
//	  PARAMS 6 k <k> blob <bytes> ef <ef> DIALECT 2
//
// and converts the COSINE distance d (0..2) to the vector-set similarity
// scale, 1 - d/2, before applying Query.MinScore.
//
// # Clients
//
// redisearch-go is redigo-based, speaks RESP2 only and keeps its own
// connection pool; New builds that pool from the go-redis client's address,
// database, credentials, TLS and timeouts. redisearch-go calls take no
// context: the index checks ctx before each of them and relies on the pool's
// read and write timeouts to bound them. Commands redisearch-go cannot express
// or parse correctly go through go-redis; each such place says why.
package redisearch
