package resp_test

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"strings"

	"github.com/metalio/metal/bench/servers/resp"
)

// Start a server by name and talk RESP to it: a SET sent as clients send
// it, then a GET typed inline, as into nc.
func Example() {
	srv, err := resp.Start("metal", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "*3\r\n$3\r\nSET\r\n$5\r\ngreet\r\n$5\r\nhello\r\nGET greet\r\n")
	r := bufio.NewReader(c)
	for range 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(strings.TrimSuffix(line, "\r\n"))
	}
	// Output:
	// +OK
	// $5
	// hello
}

// Serve runs every complete command it is given and says how much it
// used; the rest, the start of a command, waits for more bytes.
func ExampleStore_Serve() {
	db := resp.NewStore()
	in := []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\nGET")
	consumed, out, closeAfter := db.Serve(in, nil)
	fmt.Printf("replies %q\nleft %q, close %v\n", out, in[consumed:], closeAfter)
	// Output:
	// replies "+OK\r\n$1\r\nv\r\n"
	// left "GET", close false
}
