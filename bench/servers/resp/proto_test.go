package resp

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// parseCase is a request and what parseCommand makes of it.
type parseCase struct {
	name string
	in   string
	argc int
	argv []string // the arguments kept, at most maxArgv
}

var validCommands = []parseCase{
	{"ping", "*1\r\n$4\r\nPING\r\n", 1, []string{"PING"}},
	{"set", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", 3, []string{"SET", "k", "hello"}},
	{"empty bulk", "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", 2, []string{"GET", ""}},
	{"binary bulk", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n", 3, []string{"SET", "k", "a\r\nb"}},
	{"long length", "*2\r\n$4\r\nECHO\r\n$12\r\nhello world!\r\n", 2, []string{"ECHO", "hello world!"}},
	{"more than kept", "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n", 5, []string{"a", "b", "c"}},
	{"empty array", "*0\r\n", 0, nil},
	{"null array", "*-1\r\n", 0, nil},
	{"inline", "PING\r\n", 1, []string{"PING"}},
	{"inline LF only", "PING\n", 1, []string{"PING"}},
	{"inline spaces and tabs", "  set  k\tv \r\n", 3, []string{"set", "k", "v"}},
	{"inline many words", "a b c d e\r\n", 5, []string{"a", "b", "c"}},
	{"empty line", "\r\n", 0, nil},
	{"blank line", " \t \n", 0, nil},
}

func checkParsed(t *testing.T, tc parseCase, cmd *command) {
	t.Helper()
	if cmd.argc != tc.argc {
		t.Fatalf("%s: argc = %d, want %d", tc.name, cmd.argc, tc.argc)
	}
	for i, want := range tc.argv {
		if got := string(cmd.argv[i]); got != want {
			t.Fatalf("%s: argv[%d] = %q, want %q", tc.name, i, got, want)
		}
	}
}

func TestParseCompleteCommands(t *testing.T) {
	for _, tc := range validCommands {
		var cmd command
		n, _, err := parseCommand([]byte(tc.in), &cmd)
		if err != nil || n != len(tc.in) {
			t.Fatalf("%s: parseCommand = %d, %v; want %d, nil", tc.name, n, err, len(tc.in))
		}
		checkParsed(t, tc, &cmd)
		if need := Need([]byte(tc.in)); need != len(tc.in) {
			t.Fatalf("%s: Need = %d, want %d", tc.name, need, len(tc.in))
		}
	}
}

// TestParseNeedsMoreAtEveryByteBoundary cuts every command short at every
// byte: parseCommand must ask for more, and the length it says the command
// needs must be past the cut and not past the command's end.
func TestParseNeedsMoreAtEveryByteBoundary(t *testing.T) {
	for _, tc := range validCommands {
		for k := range len(tc.in) {
			var cmd command
			n, need, err := parseCommand([]byte(tc.in[:k]), &cmd)
			if n != 0 || err != nil || need <= k || need > len(tc.in) {
				t.Fatalf("%s cut at %d (%q): parseCommand = %d, need %d, %v; want 0, need in (%d, %d], nil",
					tc.name, k, tc.in[:k], n, need, err, k, len(tc.in))
			}
			if got := Need([]byte(tc.in[:k])); got != need {
				t.Fatalf("%s cut at %d: Need = %d, parseCommand's need %d", tc.name, k, got, need)
			}
		}
	}
}

func TestNeedKnowsABulkStringsLengthFromItsHeader(t *testing.T) {
	cmd := mbulk("SET", "k", strings.Repeat("v", 1000))
	header := len(cmd) - 1000 - 2
	if got := Need([]byte(cmd[:header+10])); got != len(cmd) {
		t.Fatalf("Need with the value's header = %d, want the whole command's %d", got, len(cmd))
	}
}

func TestParsePipelinedCommands(t *testing.T) {
	var all strings.Builder
	for _, tc := range validCommands {
		all.WriteString(tc.in)
	}
	all.WriteString("*1\r\n$4\r\nPI") // a partial command at the end
	in := []byte(all.String())
	for _, tc := range validCommands {
		var cmd command
		n, _, err := parseCommand(in, &cmd)
		if err != nil || n != len(tc.in) {
			t.Fatalf("%s: parseCommand = %d, %v; want %d, nil", tc.name, n, err, len(tc.in))
		}
		checkParsed(t, tc, &cmd)
		in = in[n:]
	}
	var cmd command
	if n, _, err := parseCommand(in, &cmd); n != 0 || err != nil {
		t.Fatalf("partial tail %q: parseCommand = %d, %v; want 0, nil", in, n, err)
	}
}

func TestParseProtocolErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"count not a number", "*x\r\n", "invalid multibulk length"},
		{"count with leading zero", "*01\r\n", "invalid multibulk length"},
		{"count without digits", "*\r\n", "invalid multibulk length"},
		{"count then CR without LF", "*1\rx", "invalid multibulk length"},
		{"count too large", "*2000000\r\n", "invalid multibulk length"},
		{"element not a bulk string", "*1\r\n+PING\r\n", "expected '$', got '+'"},
		{"element unprintable", "*1\r\n\x01", `expected '$', got '\x01'`},
		{"bulk length not a number", "*1\r\n$x\r\n", "invalid bulk length"},
		{"null bulk in a request", "*1\r\n$-1\r\n", "invalid bulk length"},
		{"negative zero", "*1\r\n$-0\r\n", "invalid bulk length"},
		{"bulk length beyond Redis's", "*1\r\n$536870913\r\n", "invalid bulk length"},
		{"bulk length too many digits", "*1\r\n$1234567890123\r\n", "invalid bulk length"},
		{"bulk beyond MaxPending", "*2\r\n$3\r\nSET\r\n$100000000\r\n", "request larger than 64 MiB"},
		{"bulk without CRLF", "*1\r\n$4\r\nPINGxx", "expected CRLF after bulk string"},
		{"bulk with CR only", "*1\r\n$4\r\nPING\rx", "expected CRLF after bulk string"},
		{"inline line too long", strings.Repeat("a", maxInlineLen+1), "too big inline request"},
		{"inline line too long with LF", strings.Repeat("a", maxInlineLen+1) + "\n", "too big inline request"},
	}
	for _, tc := range tests {
		var cmd command
		n, _, err := parseCommand([]byte(tc.in), &cmd)
		var perr protocolError
		if !errors.As(err, &perr) || string(perr) != tc.want || n != 0 {
			t.Errorf("%s: parseCommand = %d, %v; want 0, Protocol error: %s", tc.name, n, err, tc.want)
		}
	}
}

func TestParseRefusesToHoldMoreThanMaxPending(t *testing.T) {
	// An array of 1 MiB elements, the last sized to end one byte short of
	// MaxPending, then the start of a length line: the command is cut
	// short with MaxPending bytes held, and refused rather than buffered
	// further.
	var b bytes.Buffer
	b.Grow(MaxPending)
	b.WriteString("*" + strconv.Itoa(maxArrayLen) + "\r\n")
	elem := mbulk(strings.Repeat("a", 1<<20))[len("*1\r\n"):]
	for b.Len()+2*len(elem) < MaxPending {
		b.WriteString(elem)
	}
	gap := MaxPending - 1 - b.Len() // the last element's whole length
	size := gap - len("$\r\n\r\n") - len(strconv.Itoa(gap))
	if len(strconv.Itoa(size)) != len(strconv.Itoa(gap)) {
		t.Fatalf("test setup: %d and %d have different widths", size, gap)
	}
	b.WriteString("$" + strconv.Itoa(size) + "\r\n" + strings.Repeat("b", size) + "\r\n")
	if b.Len() != MaxPending-1 {
		t.Fatalf("test setup: %d bytes, want %d", b.Len(), MaxPending-1)
	}
	var cmd command
	if n, _, err := parseCommand(b.Bytes(), &cmd); n != 0 || err != nil {
		t.Fatalf("parseCommand of MaxPending-1 bytes = %d, %v; want 0, nil", n, err)
	}
	b.WriteString("$")
	if n, _, err := parseCommand(b.Bytes(), &cmd); err != errTooBig {
		t.Fatalf("parseCommand of MaxPending bytes = %d, %v; want %v", n, err, errTooBig)
	}
}

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		b, lower string
		want     bool
	}{
		{"GET", "get", true},
		{"get", "get", true},
		{"gEt", "get", true},
		{"GETS", "get", false},
		{"GE", "get", false},
		{"G\x05T", "get", false}, // 'E'|0x20 is 'e'; 0x05|0x20 is not
		{"SET", "get", false},
	} {
		if got := equalFold([]byte(tc.b), tc.lower); got != tc.want {
			t.Errorf("equalFold(%q, %q) = %v, want %v", tc.b, tc.lower, got, tc.want)
		}
	}
}
