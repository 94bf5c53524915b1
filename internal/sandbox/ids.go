package sandbox

import (
	"fmt"
	"strings"
)

// Salesforce key prefixes of the tables the sandbox defines, and a few more
// the dialects mint ids for.
const (
	PrefixAccount                 = "001"
	PrefixContact                 = "003"
	PrefixUser                    = "005"
	PrefixOpportunity             = "006"
	PrefixOpportunityLineItem     = "00k"
	PrefixTask                    = "00T"
	PrefixEvent                   = "00U"
	PrefixCampaign                = "701"
	PrefixCampaignMember          = "00v"
	PrefixPermissionSet           = "0PS"
	PrefixFieldPermissions        = "01k"
	PrefixPermissionSetAssignment = "0Pa"
	PrefixOrganization            = "00D"
	PrefixCustomField             = "00N"
	PrefixListView                = "00B"
	PrefixReport                  = "00O"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sfPod is the two characters after the key prefix (the instance/pod part
// of a real id).
const sfPod = "8d"

// SalesforceID returns the 18-character id with key prefix and sequence
// number n: prefix, pod, n in base 62 left-padded with zeros to 10 characters,
// then the 3-character case-safe suffix. It panics if prefix is not 3
// characters or n does not fit.
func SalesforceID(prefix string, n int64) string {
	if len(prefix) != 3 || n < 0 {
		panic(fmt.Sprintf("sandbox: bad Salesforce id parts %q %d", prefix, n))
	}
	var digits [10]byte
	for i := range digits {
		digits[i] = '0'
	}
	for i := len(digits) - 1; n > 0; i-- {
		if i < 0 {
			panic("sandbox: Salesforce id sequence overflow")
		}
		digits[i] = base62[n%62]
		n /= 62
	}
	return CaseSafeID(prefix + sfPod + string(digits[:]))
}

// CaseSafeID converts a 15-character Salesforce id to its 18-character form
// by appending the checksum: for each 5-character chunk, a bit per uppercase
// letter (lowest bit first) indexes "A".."Z","0".."5". 18-character ids are
// returned unchanged; other lengths are returned as is.
func CaseSafeID(id string) string {
	if len(id) != 15 {
		return id
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var sb strings.Builder
	sb.Grow(18)
	sb.WriteString(id)
	for chunk := 0; chunk < 3; chunk++ {
		v := 0
		for i := 0; i < 5; i++ {
			c := id[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				v |= 1 << i
			}
		}
		sb.WriteByte(alphabet[v])
	}
	return sb.String()
}

// ValidSalesforceID reports whether id is an 18-character id whose suffix
// matches its first 15 characters.
func ValidSalesforceID(id string) bool {
	if len(id) != 18 {
		return false
	}
	for i := 0; i < 15; i++ {
		if !strings.ContainsRune(base62, rune(id[i])) {
			return false
		}
	}
	return CaseSafeID(id[:15]) == id
}

// hubSpotIDBase keeps generated HubSpot ids at a realistic 10 digits.
const hubSpotIDBase = 1_000_000_000

// HubSpotID returns the numeric HubSpot record id for sequence number n.
func HubSpotID(n int64) string { return fmt.Sprint(hubSpotIDBase + n) }
