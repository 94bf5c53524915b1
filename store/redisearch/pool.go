package redisearch

import (
	"context"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"
)

// newPool builds the redigo pool redisearch-go needs from the go-redis
// client's options, so both clients reach the same server and database with
// the same credentials, TLS settings and timeouts. redigo speaks RESP2 only,
// which is all redisearch-go can parse.
func newPool(o *redis.Options) *redigo.Pool {
	network := o.Network
	if network == "" {
		network = "tcp"
	}
	dialOpts := []redigo.DialOption{
		redigo.DialDatabase(o.DB),
		redigo.DialConnectTimeout(positive(o.DialTimeout, 5*time.Second)),
		redigo.DialReadTimeout(positive(o.ReadTimeout, 3*time.Second)),
		redigo.DialWriteTimeout(positive(o.WriteTimeout, positive(o.ReadTimeout, 3*time.Second))),
	}
	if o.Username != "" {
		dialOpts = append(dialOpts, redigo.DialUsername(o.Username))
	}
	if o.Password != "" {
		dialOpts = append(dialOpts, redigo.DialPassword(o.Password))
	}
	if o.TLSConfig != nil {
		dialOpts = append(dialOpts, redigo.DialUseTLS(true), redigo.DialTLSConfig(o.TLSConfig))
	}
	if o.ClientName != "" {
		dialOpts = append(dialOpts, redigo.DialClientName(o.ClientName))
	}
	size := o.PoolSize
	if size <= 0 {
		size = 10
	}
	return &redigo.Pool{
		DialContext: func(ctx context.Context) (redigo.Conn, error) {
			return redigo.DialContext(ctx, network, o.Addr, dialOpts...)
		},
		MaxIdle:     size,
		MaxActive:   size,
		Wait:        true,
		IdleTimeout: positive(o.ConnMaxIdleTime, 30*time.Minute),
		TestOnBorrow: func(c redigo.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// positive returns d when it is a usable timeout, else def. go-redis uses -1
// and -2 for "no timeout"; redigo's zero means the same.
func positive(d, def time.Duration) time.Duration {
	switch {
	case d > 0:
		return d
	case d < 0:
		return 0
	default:
		return def
	}
}
