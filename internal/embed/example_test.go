package embed_test

import (
	"context"
	"fmt"

	"github.com/crmpulse/crmpulse/internal/config"
	"github.com/crmpulse/crmpulse/internal/embed"
)

func ExampleNew() {
	e, err := embed.New(config.Default().Embedder)
	if err != nil {
		panic(err)
	}
	vecs, err := e.Embed(context.Background(), []string{"来期の予算が削減されるため契約更新を見直したい", ""})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Name(), e.Dimension(), len(vecs[0]), len(vecs[1]))
	// Output: local-hash-v1-d384-w2-c34-j23-sw 384 384 384
}
