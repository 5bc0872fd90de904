package main

// This file is what the soak says to each server: echo's messages of
// random bytes, and kv's SET and GET in RESP, written and parsed by hand.
// Every reply is checked against what was sent.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// protocol is one kind of server's side of the conversation. Every method
// bounds its work by the client's timeout.
type protocol interface {
	// name is the server's name, as the soak prints it.
	name() string
	// exchange makes one round of requests on c and checks every reply.
	// It returns how many requests the round made, whether or not they
	// succeeded.
	exchange(c *client) (requests int, err error)
	// abandon writes a request, or part of one, and returns without
	// reading any reply.
	abandon(c *client) error
	// finish ends the conversation the protocol's own way and checks
	// that the server then closes the connection.
	finish(c *client) (requests int, err error)
}

const (
	// maxEchoMessage bounds an echo message; a round writes up to
	// maxEchoBatch of them at once before reading the echoes.
	maxEchoMessage = 2048
	maxEchoBatch   = 4
	// maxEchoAbandon bounds the message an abandoning echo client
	// writes: more than the server's 16 KiB buffer, so that the server
	// is often mid-echo when the client goes.
	maxEchoAbandon = 64 << 10
	// kvKeysPerClient bounds each client's key space, so that the
	// store, and with it the server's memory, stops growing once every
	// key has been set: whatever grows after that is a leak.
	kvKeysPerClient = 64
	// maxKVValue bounds a value's length.
	maxKVValue = 256
)

// echoProto talks to examples/echo.
type echoProto struct{}

// name is "echo".
func (echoProto) name() string { return "echo" }

// exchange writes one to maxEchoBatch messages of random bytes in one
// write and reads them all back.
func (echoProto) exchange(c *client) (int, error) {
	n := 1 + c.rng.IntN(maxEchoBatch)
	c.wbuf = c.wbuf[:0]
	for range n {
		c.wbuf = appendRandom(c.wbuf, c, 1+c.rng.IntN(maxEchoMessage))
	}
	if err := c.deadline(); err != nil {
		return n, err
	}
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return n, fmt.Errorf("echo write: %w", err)
	}
	return n, readEcho(c, c.wbuf)
}

// abandon writes one message of up to maxEchoAbandon bytes.
func (echoProto) abandon(c *client) error {
	c.wbuf = appendRandom(c.wbuf[:0], c, 1+c.rng.IntN(maxEchoAbandon))
	if err := c.deadline(); err != nil {
		return err
	}
	_, err := c.conn.Write(c.wbuf)
	return err
}

// finish writes a message, shuts down the writing half, and expects the
// message back and then the end of the stream: the server echoes what it
// has and closes when it reads the end of the client's.
func (echoProto) finish(c *client) (int, error) {
	c.wbuf = appendRandom(c.wbuf[:0], c, 1+c.rng.IntN(maxEchoMessage))
	if err := c.deadline(); err != nil {
		return 1, err
	}
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return 1, fmt.Errorf("echo write: %w", err)
	}
	if err := c.conn.CloseWrite(); err != nil {
		return 1, fmt.Errorf("echo half-close: %w", err)
	}
	if err := readEcho(c, c.wbuf); err != nil {
		return 1, err
	}
	return 1, expectEOF(c)
}

// readEcho reads len(sent) bytes and checks they are sent.
func readEcho(c *client, sent []byte) error {
	c.rbuf = grow(c.rbuf, len(sent))
	if _, err := io.ReadFull(c.r, c.rbuf); err != nil {
		return fmt.Errorf("echo read: %w", err)
	}
	if bytes.Equal(sent, c.rbuf) {
		return nil
	}
	return fmt.Errorf("%w: the echo of %d bytes differs at byte %d", errWrongReply, len(sent), firstDifference(sent, c.rbuf))
}

// kvProto talks to examples/kv.
type kvProto struct{}

// name is "kv".
func (kvProto) name() string { return "kv" }

// exchange sets one of the client's keys to a fresh value and gets it
// back, the two commands pipelined in one write: two requests.
func (kvProto) exchange(c *client) (int, error) {
	key, value := c.nextKeyValue()
	c.wbuf = appendCommand(c.wbuf[:0], "SET", key, value)
	c.wbuf = appendCommand(c.wbuf, "GET", key)
	if err := c.deadline(); err != nil {
		return 2, err
	}
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return 2, fmt.Errorf("kv write: %w", err)
	}
	if err := expectSimple(c, "OK"); err != nil {
		return 2, fmt.Errorf("SET %s: %w", key, err)
	}
	got, err := readBulk(c)
	if err != nil {
		return 2, fmt.Errorf("GET %s: %w", key, err)
	}
	if !bytes.Equal(got, value) {
		return 2, fmt.Errorf("%w: GET %s = %q, want %q", errWrongReply, key, got, value)
	}
	return 2, nil
}

// abandon writes a SET and a GET, or a SET cut off at a random byte.
func (kvProto) abandon(c *client) error {
	key, value := c.nextKeyValue()
	c.wbuf = appendCommand(c.wbuf[:0], "SET", key, value)
	if c.rng.IntN(2) == 0 {
		c.wbuf = appendCommand(c.wbuf, "GET", key)
	} else {
		c.wbuf = c.wbuf[:1+c.rng.IntN(len(c.wbuf)-1)]
	}
	if err := c.deadline(); err != nil {
		return err
	}
	_, err := c.conn.Write(c.wbuf)
	return err
}

// finish sends QUIT and expects +OK and then the end of the stream.
func (kvProto) finish(c *client) (int, error) {
	c.wbuf = appendCommand(c.wbuf[:0], "QUIT")
	if err := c.deadline(); err != nil {
		return 1, err
	}
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return 1, fmt.Errorf("kv write: %w", err)
	}
	if err := expectSimple(c, "OK"); err != nil {
		return 1, fmt.Errorf("QUIT: %w", err)
	}
	return 1, expectEOF(c)
}

// nextKeyValue returns the client's next key, one of kvKeysPerClient, and
// a value for it that no earlier exchange wrote: the exchange's number,
// then random letters. The value is valid until the next call.
func (c *client) nextKeyValue() (key string, value []byte) {
	key = fmt.Sprintf("%s:%d", c.keys, c.seq%kvKeysPerClient)
	c.vbuf = strconv.AppendUint(c.vbuf[:0], c.seq, 10)
	c.vbuf = append(c.vbuf, ':')
	for n := c.rng.IntN(maxKVValue - 20); n > 0; n-- {
		c.vbuf = append(c.vbuf, byte('a'+c.rng.IntN(26)))
	}
	c.seq++
	return key, c.vbuf
}

// appendCommand appends a RESP array of bulk strings: the command and its
// arguments, each a string or a []byte.
func appendCommand(b []byte, name string, args ...any) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(1+len(args)), 10)
	b = append(b, "\r\n"...)
	b = appendBulk(b, []byte(name))
	for _, a := range args {
		switch a := a.(type) {
		case string:
			b = appendBulk(b, []byte(a))
		case []byte:
			b = appendBulk(b, a)
		default:
			panic(fmt.Sprintf("appendCommand: argument of type %T", a))
		}
	}
	return b
}

// appendBulk appends one RESP bulk string.
func appendBulk(b, s []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "\r\n"...)
	b = append(b, s...)
	return append(b, "\r\n"...)
}

// readLine reads one RESP line and returns it without its CRLF. The slice
// is valid until the next read.
func readLine(c *client) ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("kv read: %w", err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: a line not ended by CRLF: %q", errWrongReply, line)
	}
	return line[:len(line)-2], nil
}

// expectSimple reads a reply and checks that it is the simple string want.
func expectSimple(c *client, want string) error {
	line, err := readLine(c)
	if err != nil {
		return err
	}
	if len(line) == 0 || line[0] != '+' || string(line[1:]) != want {
		return fmt.Errorf("%w: %q, want +%s", errWrongReply, line, want)
	}
	return nil
}

// readBulk reads a reply that must be a bulk string, not nil, and returns
// it. The slice is valid until the client's next read.
func readBulk(c *client) ([]byte, error) {
	line, err := readLine(c)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 || line[0] != '$' {
		return nil, fmt.Errorf("%w: %q, want a bulk string", errWrongReply, line)
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: %q, want a bulk string", errWrongReply, line)
	}
	c.rbuf = grow(c.rbuf, n+2)
	if _, err := io.ReadFull(c.r, c.rbuf); err != nil {
		return nil, fmt.Errorf("kv read: %w", err)
	}
	if !bytes.HasSuffix(c.rbuf, []byte("\r\n")) {
		return nil, fmt.Errorf("%w: a bulk string not ended by CRLF", errWrongReply)
	}
	return c.rbuf[:n], nil
}

// expectEOF reads and checks that the server has closed the connection
// with nothing more to say.
func expectEOF(c *client) error {
	var one [1]byte
	n, err := c.r.Read(one[:])
	switch {
	case n > 0:
		return fmt.Errorf("%w: more after the last reply", errWrongReply)
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return errors.New("read returned nothing and no error")
	}
	return fmt.Errorf("waiting for the server to close: %w", err)
}

// appendRandom appends n random bytes from c's source.
func appendRandom(b []byte, c *client, n int) []byte {
	for n >= 8 {
		v := c.rng.Uint64()
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
		n -= 8
	}
	for ; n > 0; n-- {
		b = append(b, byte(c.rng.Uint32()))
	}
	return b
}

// grow returns b resized to n bytes, reallocated only if too small.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// firstDifference returns the first index at which a and b (of equal
// length) differ, or -1.
func firstDifference(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
