package main

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// itoa is strconv.Itoa, short for building requests in tests.
var itoa = strconv.Itoa

// feed copies p into d's read buffer, as reads would.
func feed(d *decoder, p []byte) {
	for len(p) > 0 {
		n := copy(d.ReadSpace(), p)
		d.Wrote(n)
		p = p[n:]
	}
}

// decodeAll feeds input to a new decoder in chunks of the given size (0:
// all at once), taking every complete command after each chunk. It returns
// the commands, as strings, and the error decoding stopped with, if any.
func decodeAll(input string, chunk int) (cmds [][]string, err error) {
	var d decoder
	if chunk <= 0 {
		chunk = len(input) + 1
	}
	for p := []byte(input); ; {
		n := min(chunk, len(p))
		feed(&d, p[:n])
		p = p[n:]
		for {
			args, err := d.Next()
			if err != nil {
				return cmds, err
			}
			if args == nil {
				break
			}
			cmd := make([]string, len(args))
			for i, a := range args {
				cmd[i] = string(a)
			}
			cmds = append(cmds, cmd)
		}
		if len(p) == 0 {
			return cmds, nil
		}
	}
}

// multibulk encodes a command the way client libraries send it.
func multibulk(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

func TestDecodeMultibulkCommand(t *testing.T) {
	cmds, err := decodeAll(multibulk("SET", "key", "value"), 0)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"SET", "key", "value"}}, cmds)
}

func TestDecodeBinarySafeArguments(t *testing.T) {
	v := "a\r\nb\x00c$*\r\n"
	cmds, err := decodeAll(multibulk("SET", "", v), 0)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"SET", "", v}}, cmds)
}

func TestDecodePipelinedCommandsInOneRead(t *testing.T) {
	var in strings.Builder
	var want [][]string
	for i := range 100 {
		cmd := []string{"SET", "k" + itoa(i), strings.Repeat("v", i)}
		in.WriteString(multibulk(cmd...))
		want = append(want, cmd)
	}
	cmds, err := decodeAll(in.String(), 0)
	require.NoError(t, err)
	require.Equal(t, want, cmds)
}

func TestDecodeInlineCommands(t *testing.T) {
	cmds, err := decodeAll("PING\r\n  set \t key   value  \r\n\r\n\nECHO x\nGET k\r\n", 0)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"PING"}, {"set", "key", "value"}, {"ECHO", "x"}, {"GET", "k"}}, cmds)
}

func TestDecodeEmptyAndNullArraysAreSkipped(t *testing.T) {
	cmds, err := decodeAll("*0\r\n*-1\r\n"+multibulk("PING"), 0)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"PING"}}, cmds)
}

// pipeline mixes every shape of request: multibulk with binary values and
// empty strings, inline, empty lines and arrays.
var pipeline = multibulk("SET", "k", "v\r\nv") + "PING\r\n" + "*0\r\n" + multibulk("MSET", "a", "", "b", "2") +
	"\r\n" + "ECHO  hello\n" + multibulk("GET", strings.Repeat("x", 300))

func TestDecodeCommandSplitAtEveryByte(t *testing.T) {
	want, err := decodeAll(pipeline, 0)
	require.NoError(t, err)
	require.Len(t, want, 5)
	for chunk := 1; chunk <= 17; chunk++ {
		got, err := decodeAll(pipeline, chunk)
		require.NoError(t, err, "chunk %d", chunk)
		require.Equal(t, want, got, "chunk %d", chunk)
	}
	// Every split into two reads.
	for cut := range len(pipeline) {
		var d decoder
		var got [][]string
		for _, part := range []string{pipeline[:cut], pipeline[cut:]} {
			feed(&d, []byte(part))
			for {
				args, err := d.Next()
				require.NoError(t, err)
				if args == nil {
					break
				}
				cmd := make([]string, len(args))
				for i, a := range args {
					cmd[i] = string(a)
				}
				got = append(got, cmd)
			}
		}
		require.Equal(t, want, got, "cut at %d", cut)
	}
}

func TestDecodeIncompleteCommandWaitsForTheRest(t *testing.T) {
	var d decoder
	in := multibulk("SET", "k", "value")
	for i := range len(in) - 1 {
		feed(&d, []byte{in[i]})
		args, err := d.Next()
		require.NoError(t, err)
		require.Nil(t, args, "complete after %d of %d bytes", i+1, len(in))
	}
	feed(&d, []byte{in[len(in)-1]})
	args, err := d.Next()
	require.NoError(t, err)
	require.Len(t, args, 3)
	require.Zero(t, d.Buffered())
}

func TestDecodeLargeBulkGrowsTheBufferAndShrinksItAfter(t *testing.T) {
	v := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	in := []byte(multibulk("SET", "k", string(v)) + multibulk("PING"))
	var d decoder
	var got [][][]byte
	for p := in; len(p) > 0; {
		space := d.ReadSpace()
		n := copy(space[:min(len(space), 7000)], p)
		d.Wrote(n)
		p = p[n:]
		for {
			args, err := d.Next()
			require.NoError(t, err)
			if args == nil {
				break
			}
			// Copy: the arguments alias the buffer.
			cp := make([][]byte, len(args))
			for i, a := range args {
				cp[i] = bytes.Clone(a)
			}
			got = append(got, cp)
		}
	}
	require.Len(t, got, 2)
	require.Equal(t, v, got[0][2])
	require.Equal(t, "PING", string(got[1][0]))
	require.LessOrEqual(t, cap(d.buf), 2<<20, "the buffer grows to the command, not beyond")
	d.ReadSpace()
	require.Equal(t, readBufSize, cap(d.buf), "an empty buffer shrinks back")
}

func TestDecodeArgumentsDoNotOutliveTheirBytes(t *testing.T) {
	// A pipelined command after a partial one: the partial one moves to the
	// front of the buffer; spans are relative, so it decodes intact.
	var d decoder
	first := multibulk("GET", "a")
	big := multibulk("SET", "b", strings.Repeat("z", readBufSize))
	feed(&d, []byte(first+big[:100]))
	args, err := d.Next()
	require.NoError(t, err)
	require.Equal(t, "a", string(args[1]))
	args, err = d.Next()
	require.NoError(t, err)
	require.Nil(t, args)
	feed(&d, []byte(big[100:]))
	args, err = d.Next()
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("z", readBufSize), string(args[2]))
}

// malformed lists requests the decoder must refuse, with the text of the
// error. Each is refused as soon as its bad byte arrives.
var malformed = []struct{ name, in, err string }{
	{"bulk as a command", "$3\r\nGET\r\n", "unexpected '$'"},
	{"simple string as a command", "+PING\r\n", "unexpected '+'"},
	{"integer as a command", ":1\r\n", "unexpected ':'"},
	{"error as a command", "-ERR\r\n", "unexpected '-'"},
	{"array count not a number", "*x\r\n", "invalid multibulk length"},
	{"array count with a plus", "*+1\r\n", "invalid multibulk length"},
	{"array count with leading zero", "*01\r\n", "invalid multibulk length"},
	{"array count minus zero", "*-0\r\n", "invalid multibulk length"},
	{"array count negative", "*-2\r\n", "invalid multibulk length"},
	{"array count too large", "*1048577\r\n", "invalid multibulk length"},
	{"array count too long", "*1234567890123\r\n", "too big count string"},
	{"array count CR without LF", "*1\rx", "expected LF after CR"},
	{"array count LF without CR", "*1\n", "invalid multibulk length"},
	{"element not a bulk string", "*1\r\n:1\r\n", "expected '$', got ':'"},
	{"element is an array", "*1\r\n*1\r\n", "expected '$', got '*'"},
	{"element is a control byte", "*1\r\n\x00", `expected '$', got '\x00'`},
	{"bulk length negative", "*1\r\n$-2\r\n", "invalid bulk length"},
	{"bulk length null", "*1\r\n$-1\r\n", "invalid bulk length"},
	{"bulk length not a number", "*1\r\n$abc\r\n", "invalid bulk length"},
	{"bulk length empty", "*1\r\n$\r\n", "invalid bulk length"},
	{"bulk too large", "*1\r\n$536870913\r\n", "invalid bulk length"},
	{"bulk without CRLF", "*1\r\n$4\r\nPINGxx", "expected CRLF after bulk string"},
	{"bulk with CR only", "*1\r\n$4\r\nPING\rx", "expected CRLF after bulk string"},
	{"bulk longer than said", "*1\r\n$3\r\nPING\r\n", "expected CRLF after bulk string"},
	{"inline line too long", strings.Repeat("a", maxInlineLen+1), "too big inline request"},
	{"inline line too long with LF", strings.Repeat("a", maxInlineLen+1) + "\n", "too big inline request"},
	{"valid, then malformed", multibulk("PING") + "*1\r\n$x\r\n", "invalid bulk length"},
}

func TestDecodeMalformedRequestsAreProtocolErrors(t *testing.T) {
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 3} {
				_, err := decodeAll(tc.in, chunk)
				var perr *protocolError
				require.True(t, errors.As(err, &perr), "chunk %d: got %v", chunk, err)
				require.Contains(t, err.Error(), "Protocol error: "+tc.err, "chunk %d", chunk)
				require.NotContains(t, err.Error(), "\r")
				require.NotContains(t, err.Error(), "\n")
			}
		})
	}
}

func TestDecodeStaysFailedAfterAProtocolError(t *testing.T) {
	var d decoder
	feed(&d, []byte("*x\r\n"))
	_, err := d.Next()
	require.Error(t, err)
	feed(&d, []byte(multibulk("PING")))
	args, err2 := d.Next()
	require.Nil(t, args)
	require.Equal(t, err, err2)
}

func TestDecodeAcceptsTheLimits(t *testing.T) {
	// The largest bulk and array headers are accepted (their bodies would
	// follow); the data need not arrive for the header to pass.
	for _, in := range []string{"*1\r\n$536870912\r\n", "*1048576\r\n", strings.Repeat("a", maxInlineLen) + "\n"} {
		_, err := decodeAll(in, 0)
		require.NoError(t, err, "%.20q", in)
	}
}

func TestDecodeDoesNotAllocateInSteadyState(t *testing.T) {
	var in bytes.Buffer
	for range 50 {
		in.WriteString(multibulk("SET", "key", "value"))
		in.WriteString("GET key\r\n")
	}
	var d decoder
	round := func() {
		feed(&d, in.Bytes())
		for {
			args, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if args == nil {
				return
			}
		}
	}
	round() // the buffer and the argument slice are made once
	require.Zero(t, testing.AllocsPerRun(100, round))
}

func TestRepliesEncodeAsRESP(t *testing.T) {
	var b []byte
	b = appendBulk(b, []byte("hi"))
	b = appendBulkString(b, "")
	b = appendInt(b, -42)
	b = appendArray(b, 2)
	b = append(b, replyNull...)
	b = appendError(b, "ERR bad\r\nthing")
	require.Equal(t, "$2\r\nhi\r\n$0\r\n\r\n:-42\r\n*2\r\n$-1\r\n-ERR bad  thing\r\n", string(b))
}

func BenchmarkDecodePipeline(b *testing.B) {
	var in bytes.Buffer
	for range 16 {
		in.WriteString(multibulk("SET", "key:000000001", "xxx"))
	}
	var d decoder
	b.ReportAllocs()
	b.SetBytes(int64(in.Len()))
	for b.Loop() {
		feed(&d, in.Bytes())
		for {
			args, _ := d.Next()
			if args == nil {
				break
			}
		}
	}
}
