package config_test

import (
	"fmt"
	"strings"

	"github.com/crmpulse/crmpulse/internal/config"
)

func ExampleParse() {
	y := `
connections:
  - name: acme-hs
    kind: hubspot
    auth:
      mode: private_app
      token_env: ${TOKEN_VAR:-HUBSPOT_TOKEN}
retrieval:
  chunk_size: 400
  chunk_overlap: 400
`
	cfg, err := config.Parse(strings.NewReader(y), func(string) (string, bool) { return "", false })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Connections[0].Auth.TokenEnv, cfg.Connections[0].BaseURL, cfg.Connections[0].Lookback)
	fmt.Println(cfg.Validate())
	// Output:
	// HUBSPOT_TOKEN https://api.hubapi.com 2m0s
	// config:10: retrieval.chunk_overlap: "400": must be less than retrieval.chunk_size (400)
}
