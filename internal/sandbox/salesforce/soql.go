package salesforce

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds the SOQL lexer and recursive-descent parser. The grammar is
// the subset the sandbox serves:
//
//	query     = SELECT selectList FROM ident [WHERE expr]
//	            [ORDER BY orderItem {"," orderItem}] [LIMIT int] [OFFSET int]
//	selectList = COUNT "(" ")" | path {"," path}
//	expr      = unary {AND unary} | unary {OR unary}   (mixing needs parentheses)
//	unary     = NOT unary | "(" expr ")" | condition
//	condition = path op value | path [NOT] IN "(" value {"," value} ")" | path LIKE string
//	orderItem = path [ASC|DESC] [NULLS (FIRST|LAST)]
//
// Keywords and field names are case-insensitive.

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tDateTime
	tLParen
	tRParen
	tComma
	tColon
	tOp
)

type token struct {
	kind tokKind
	text string // source text
	val  string // decoded value for strings
	pos  int    // byte offset in the query
}

func (t token) show() string {
	if t.kind == tEOF {
		return "<EOF>"
	}
	return t.text
}

// soqlError is a query error with the Salesforce error code it maps to.
type soqlError struct {
	code   string // MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE
	msg    string
	fields []string
}

func (e *soqlError) Error() string { return e.code + ": " + e.msg }

// located formats a message the way Salesforce does: the offending line, a
// caret under the column, and "ERROR at Row:r:Column:c".
func located(q string, pos int, detail string) string {
	if pos > len(q) {
		pos = len(q)
	}
	row := strings.Count(q[:pos], "\n") + 1
	start := strings.LastIndex(q[:pos], "\n") + 1
	end := strings.IndexByte(q[pos:], '\n')
	line := q[start:]
	if end >= 0 {
		line = q[start : pos+end]
	}
	col := pos - start + 1
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col-1), row, col, detail)
}

func malformed(q string, t token) *soqlError {
	return &soqlError{code: "MALFORMED_QUERY", msg: located(q, t.pos, fmt.Sprintf("unexpected token: '%s'", t.show()))}
}

var keywords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true, "IN": true,
	"LIKE": true, "ORDER": true, "BY": true, "ASC": true, "DESC": true, "NULLS": true, "FIRST": true,
	"LAST": true, "LIMIT": true, "OFFSET": true, "TRUE": true, "FALSE": true, "NULL": true,
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '.' }

// digitsAt reports whether q[i:i+n] are all digits.
func digitsAt(q string, i, n int) bool {
	if i+n > len(q) {
		return false
	}
	for j := i; j < i+n; j++ {
		if !isDigit(q[j]) {
			return false
		}
	}
	return true
}

func lex(q string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
			i++
		}
		if i >= len(q) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		c, start := q[i], i
		switch {
		case c == '(':
			toks = append(toks, token{kind: tLParen, text: "(", pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, text: ")", pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tComma, text: ",", pos: i})
			i++
		case c == ':':
			toks = append(toks, token{kind: tColon, text: ":", pos: i})
			i++
		case c == '=':
			toks = append(toks, token{kind: tOp, text: "=", pos: i})
			i++
		case c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(q) && (q[i+1] == '=' || (c == '<' && q[i+1] == '>')) {
				op += string(q[i+1])
			}
			if op == "!" {
				return nil, &soqlError{code: "MALFORMED_QUERY", msg: located(q, i, "unexpected token: '!'")}
			}
			toks = append(toks, token{kind: tOp, text: op, pos: i})
			i += len(op)
		case c == '\'':
			i++
			var b strings.Builder
			closed := false
			for i < len(q) {
				ch := q[i]
				if ch == '\'' {
					closed = true
					i++
					break
				}
				if ch == '\\' {
					if i+1 >= len(q) {
						break
					}
					e := q[i+1]
					switch e {
					case '\'', '"', '\\':
						b.WriteByte(e)
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					case '%', '_':
						// Only meaningful in LIKE patterns; kept escaped.
						b.WriteByte('\\')
						b.WriteByte(e)
					default:
						return nil, &soqlError{code: "MALFORMED_QUERY", msg: located(q, start,
							fmt.Sprintf("Invalid string literal '%s'. Illegal character sequence '\\%c' in string literal.", q[start:min(len(q), i+2)], e))}
					}
					i += 2
					continue
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, &soqlError{code: "MALFORMED_QUERY", msg: located(q, start, fmt.Sprintf("unexpected token: '%s'", q[start:]))}
			}
			toks = append(toks, token{kind: tString, text: q[start:i], val: b.String(), pos: start})
		case isDigit(c) || (c == '-' && i+1 < len(q) && isDigit(q[i+1])):
			if c != '-' && digitsAt(q, i, 4) && i+4 < len(q) && q[i+4] == '-' && digitsAt(q, i+5, 2) &&
				i+7 < len(q) && q[i+7] == '-' && digitsAt(q, i+8, 2) {
				i += 10
				if i < len(q) && q[i] == 'T' {
					j, ok := scanTime(q, i+1)
					if !ok {
						return nil, &soqlError{code: "MALFORMED_QUERY", msg: located(q, start,
							fmt.Sprintf("line 1:%d no viable alternative at character '%s'", start, q[start:min(len(q), j+1)]))}
					}
					i = j
					toks = append(toks, token{kind: tDateTime, text: q[start:i], pos: start})
				} else {
					toks = append(toks, token{kind: tDate, text: q[start:i], pos: start})
				}
				break
			}
			i++
			for i < len(q) && (isDigit(q[i]) || q[i] == '.') {
				i++
			}
			toks = append(toks, token{kind: tNumber, text: q[start:i], pos: start})
		case isIdentStart(c):
			for i < len(q) && isIdentChar(q[i]) {
				i++
			}
			toks = append(toks, token{kind: tIdent, text: q[start:i], pos: start})
		default:
			return nil, &soqlError{code: "MALFORMED_QUERY", msg: located(q, i, fmt.Sprintf("unexpected token: '%c'", c))}
		}
	}
}

// scanTime scans "hh:mm:ss[.fff](Z|±hh:mm|±hhmm)" at i and returns the end.
func scanTime(q string, i int) (int, bool) {
	if !(digitsAt(q, i, 2) && i+2 < len(q) && q[i+2] == ':' && digitsAt(q, i+3, 2) && i+5 < len(q) && q[i+5] == ':' && digitsAt(q, i+6, 2)) {
		return i, false
	}
	i += 8
	if i < len(q) && q[i] == '.' {
		i++
		for i < len(q) && isDigit(q[i]) {
			i++
		}
	}
	if i < len(q) && q[i] == 'Z' {
		return i + 1, true
	}
	if i < len(q) && (q[i] == '+' || q[i] == '-') && digitsAt(q, i+1, 2) {
		if i+3 < len(q) && q[i+3] == ':' && digitsAt(q, i+4, 2) {
			return i + 6, true
		}
		if digitsAt(q, i+3, 2) {
			return i + 5, true
		}
	}
	return i, false
}

// AST

type fieldRef struct {
	path []string // as written, split on "."
	pos  int
	text string
}

type litKind int

const (
	lString litKind = iota
	lNumber
	lBool
	lNull
	lDate
	lDateTime
	lRelative // TODAY, LAST_N_DAYS:n ...
)

type literal struct {
	kind litKind
	text string // source text
	str  string
	num  float64
	b    bool
	n    int // relative literal argument
	pos  int
}

type expr interface{ isExpr() }

type andExpr struct{ items []expr }
type orExpr struct{ items []expr }
type notExpr struct{ x expr }
type cmpExpr struct {
	f   fieldRef
	op  string // = != < <= > >=
	val literal
}
type inExpr struct {
	f    fieldRef
	not  bool
	vals []literal
}
type likeExpr struct {
	f   fieldRef
	pat literal
}

func (andExpr) isExpr()  {}
func (orExpr) isExpr()   {}
func (notExpr) isExpr()  {}
func (cmpExpr) isExpr()  {}
func (inExpr) isExpr()   {}
func (likeExpr) isExpr() {}

type orderItem struct {
	f          fieldRef
	desc       bool
	nullsFirst bool
}

type parsedQuery struct {
	src     string
	fields  []fieldRef
	count   bool
	object  string
	objPos  int
	where   expr
	orderBy []orderItem
	limit   int // -1: none
	offset  int
}

type parser struct {
	q    string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isKw(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) expectKw(kw string) error {
	if !p.isKw(kw) {
		return malformed(p.q, p.peek())
	}
	p.next()
	return nil
}

func parseSOQL(q string) (*parsedQuery, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{q: q, toks: toks}
	pq := &parsedQuery{src: q, limit: -1}
	if err := p.expectKw("SELECT"); err != nil {
		return nil, err
	}
	if p.isKw("COUNT") && p.toks[p.i+1].kind == tLParen {
		p.next()
		p.next()
		if p.peek().kind != tRParen {
			return nil, malformed(q, p.peek())
		}
		p.next()
		pq.count = true
	} else {
		for {
			f, err := p.parseField()
			if err != nil {
				return nil, err
			}
			pq.fields = append(pq.fields, f)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	if err := p.expectKw("FROM"); err != nil {
		return nil, err
	}
	ot := p.peek()
	if ot.kind != tIdent || keywords[strings.ToUpper(ot.text)] || strings.Contains(ot.text, ".") {
		return nil, malformed(q, ot)
	}
	p.next()
	pq.object, pq.objPos = ot.text, ot.pos
	if p.isKw("WHERE") {
		p.next()
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		pq.where = e
	}
	if p.isKw("ORDER") {
		p.next()
		if err := p.expectKw("BY"); err != nil {
			return nil, err
		}
		for {
			f, err := p.parseField()
			if err != nil {
				return nil, err
			}
			it := orderItem{f: f}
			if p.isKw("ASC") {
				p.next()
			} else if p.isKw("DESC") {
				p.next()
				it.desc = true
			}
			// Salesforce sorts nulls first unless told otherwise.
			it.nullsFirst = true
			if p.isKw("NULLS") {
				p.next()
				switch {
				case p.isKw("FIRST"):
				case p.isKw("LAST"):
					it.nullsFirst = false
				default:
					return nil, malformed(q, p.peek())
				}
				p.next()
			}
			pq.orderBy = append(pq.orderBy, it)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	if p.isKw("LIMIT") {
		p.next()
		n, err := p.parseInt()
		if err != nil {
			return nil, err
		}
		pq.limit = n
	}
	if p.isKw("OFFSET") {
		p.next()
		n, err := p.parseInt()
		if err != nil {
			return nil, err
		}
		if n > 2000 {
			return nil, &soqlError{code: "NUMBER_OUTSIDE_VALID_RANGE", msg: fmt.Sprintf("Maximum SOQL offset allowed is 2000")}
		}
		pq.offset = n
	}
	if p.peek().kind != tEOF {
		return nil, malformed(q, p.peek())
	}
	return pq, nil
}

func (p *parser) parseInt() (int, error) {
	t := p.peek()
	if t.kind != tNumber {
		return 0, malformed(p.q, t)
	}
	n, err := strconv.Atoi(t.text)
	if err != nil || n < 0 {
		return 0, malformed(p.q, t)
	}
	p.next()
	return n, nil
}

func (p *parser) parseField() (fieldRef, error) {
	t := p.peek()
	if t.kind != tIdent || keywords[strings.ToUpper(t.text)] || strings.HasPrefix(t.text, ".") ||
		strings.HasSuffix(t.text, ".") || strings.Contains(t.text, "..") {
		return fieldRef{}, malformed(p.q, t)
	}
	p.next()
	return fieldRef{path: strings.Split(t.text, "."), pos: t.pos, text: t.text}, nil
}

func (p *parser) parseExpr() (expr, error) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	switch {
	case p.isKw("AND"):
		items := []expr{first}
		for p.isKw("AND") {
			p.next()
			x, err := p.parseUnary()
			if err != nil {
				return nil, err
			}
			items = append(items, x)
		}
		if p.isKw("OR") {
			return nil, malformed(p.q, p.peek())
		}
		return andExpr{items}, nil
	case p.isKw("OR"):
		items := []expr{first}
		for p.isKw("OR") {
			p.next()
			x, err := p.parseUnary()
			if err != nil {
				return nil, err
			}
			items = append(items, x)
		}
		if p.isKw("AND") {
			return nil, malformed(p.q, p.peek())
		}
		return orExpr{items}, nil
	}
	return first, nil
}

func (p *parser) parseUnary() (expr, error) {
	if p.isKw("NOT") {
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	}
	if p.peek().kind == tLParen {
		p.next()
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, malformed(p.q, p.peek())
		}
		p.next()
		return x, nil
	}
	f, err := p.parseField()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case t.kind == tOp:
		p.next()
		op := t.text
		if op == "<>" {
			op = "!="
		}
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		return cmpExpr{f: f, op: op, val: v}, nil
	case p.isKw("IN"), p.isKw("NOT"):
		not := false
		if p.isKw("NOT") {
			p.next()
			not = true
			if !p.isKw("IN") {
				return nil, malformed(p.q, p.peek())
			}
		}
		p.next()
		if p.peek().kind != tLParen {
			return nil, malformed(p.q, p.peek())
		}
		p.next()
		var vals []literal
		for {
			v, err := p.parseValue()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if p.peek().kind != tRParen {
				return nil, malformed(p.q, p.peek())
			}
			p.next()
			break
		}
		return inExpr{f: f, not: not, vals: vals}, nil
	case p.isKw("LIKE"):
		p.next()
		v := p.peek()
		if v.kind != tString {
			return nil, malformed(p.q, v)
		}
		p.next()
		return likeExpr{f: f, pat: literal{kind: lString, text: v.text, str: v.val, pos: v.pos}}, nil
	default:
		return nil, malformed(p.q, t)
	}
}

// relativeLiterals lists the date literals; true means it takes ":n".
var relativeLiterals = map[string]bool{
	"YESTERDAY": false, "TODAY": false, "TOMORROW": false,
	"LAST_WEEK": false, "THIS_WEEK": false, "NEXT_WEEK": false,
	"LAST_MONTH": false, "THIS_MONTH": false, "NEXT_MONTH": false,
	"LAST_90_DAYS": false, "NEXT_90_DAYS": false,
	"LAST_QUARTER": false, "THIS_QUARTER": false, "NEXT_QUARTER": false,
	"LAST_YEAR": false, "THIS_YEAR": false, "NEXT_YEAR": false,
	"LAST_N_DAYS": true, "NEXT_N_DAYS": true, "N_DAYS_AGO": true,
	"LAST_N_WEEKS": true, "NEXT_N_WEEKS": true, "N_WEEKS_AGO": true,
	"LAST_N_MONTHS": true, "NEXT_N_MONTHS": true, "N_MONTHS_AGO": true,
	"LAST_N_YEARS": true, "NEXT_N_YEARS": true, "N_YEARS_AGO": true,
}

func (p *parser) parseValue() (literal, error) {
	t := p.peek()
	lit := literal{text: t.text, pos: t.pos}
	switch t.kind {
	case tString:
		lit.kind, lit.str = lString, t.val
	case tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return lit, malformed(p.q, t)
		}
		lit.kind, lit.num = lNumber, f
	case tDate:
		lit.kind = lDate
	case tDateTime:
		lit.kind = lDateTime
	case tIdent:
		up := strings.ToUpper(t.text)
		switch up {
		case "TRUE", "FALSE":
			lit.kind, lit.b = lBool, up == "TRUE"
		case "NULL":
			lit.kind = lNull
		default:
			takesN, ok := relativeLiterals[up]
			if !ok {
				return lit, malformed(p.q, t)
			}
			lit.kind, lit.str = lRelative, up
			if takesN {
				p.next()
				if p.peek().kind != tColon {
					return lit, malformed(p.q, p.peek())
				}
				p.next()
				n, err := p.parseInt()
				if err != nil {
					return lit, err
				}
				lit.n = n
				lit.text = fmt.Sprintf("%s:%d", t.text, n)
				return lit, nil
			}
		}
	default:
		return lit, malformed(p.q, t)
	}
	p.next()
	return lit, nil
}
