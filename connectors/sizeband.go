package connectors

// SizeBand returns the company-size band of an account by employee count
// ("" when unknown): 1-50, 51-200, 201-1000, 1001-5000, 5000+. Chunk
// attributes, aggregates and similar-account matching all use these bands,
// so they must come from this one rule.
func SizeBand(employees int) string {
	switch {
	case employees <= 0:
		return ""
	case employees <= 50:
		return "1-50"
	case employees <= 200:
		return "51-200"
	case employees <= 1000:
		return "201-1000"
	case employees <= 5000:
		return "1001-5000"
	}
	return "5000+"
}
