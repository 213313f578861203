// main.go: the I/O benchmarks' echo and chat servers with goroutines (a peer).
//
//	go-servers echo|chat [-H HOST] [-p PORT]
//
// The same servers as bench/io/echo_runtime.c and chat_runtime.c, written as
// Go is usually written: a goroutine per connection reading with bufio.
// Echo writes each line through a bufio.Writer flushed whenever no more
// input is buffered. Chat gives each client a channel of outgoing lines and
// a writer goroutine that flushes once the channel is empty (so a burst
// goes out in one system call); a client whose channel is full is dropped
// rather than let it stall the room. Prints "listening on HOST:PORT" once
// it listens and serves until killed. GOMAXPROCS is left to Go: pinned to
// one CPU, as bench/run.sh runs it, that is 1.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
)

const (
	maxLine   = 64 * 1024
	maxBehind = 4096 // lines queued for one chat client before dropping it
)

var prompt = []byte("What's your name? ")

func echo(conn net.Conn) {
	defer conn.Close()
	reader := bufio.NewReaderSize(conn, 4096)
	writer := bufio.NewWriterSize(conn, 4096)
	for {
		line, err := reader.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue // longer than the buffer: not a line we echo whole
		}
		if err != nil {
			return
		}
		if _, err := writer.Write(line); err != nil {
			return
		}
		if reader.Buffered() == 0 {
			if err := writer.Flush(); err != nil {
				return
			}
		}
	}
}

type client struct {
	name     []byte
	outgoing chan []byte
}

var (
	roomLock sync.Mutex
	room     = map[*client]struct{}{}
)

func writeLoop(conn net.Conn, c *client) {
	writer := bufio.NewWriterSize(conn, 16*1024)
	for message := range c.outgoing {
		if _, err := writer.Write(message); err != nil {
			break
		}
		if len(c.outgoing) == 0 {
			if err := writer.Flush(); err != nil {
				break
			}
		}
	}
	conn.Close()
	for range c.outgoing { // let broadcasters finish with a dead client
	}
}

func leave(c *client) {
	roomLock.Lock()
	if _, ok := room[c]; ok {
		delete(room, c)
		close(c.outgoing)
	}
	roomLock.Unlock()
}

func chat(conn net.Conn) {
	c := &client{outgoing: make(chan []byte, maxBehind)}
	reader := bufio.NewReaderSize(conn, maxLine)
	for len(c.name) == 0 {
		if _, err := conn.Write(prompt); err != nil {
			conn.Close()
			return
		}
		line, err := reader.ReadSlice('\n')
		if err != nil {
			conn.Close()
			return
		}
		c.name = append([]byte(nil), bytes.TrimRight(line, "\r\n")...)
	}
	go writeLoop(conn, c)
	roomLock.Lock()
	room[c] = struct{}{}
	roomLock.Unlock()
	defer leave(c)
	for {
		line, err := reader.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
		message := make([]byte, 0, len(c.name)+2+len(line))
		message = append(append(append(message, c.name...), ": "...),
			bytes.TrimRight(line, "\r\n")...)
		message = append(message, '\n')
		roomLock.Lock()
		for other := range room {
			if other == c {
				continue
			}
			select {
			case other.outgoing <- message:
			default: // too far behind: dropped
				delete(room, other)
				close(other.outgoing)
			}
		}
		roomLock.Unlock()
	}
}

func main() {
	args := os.Args[1:]
	host, port := "127.0.0.1", 0
	if len(args)%2 != 1 || (args[0] != "echo" && args[0] != "chat") {
		fmt.Fprintln(os.Stderr, "usage: go-servers echo|chat [-H HOST] [-p PORT]")
		os.Exit(2)
	}
	for i := 1; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-H":
			host = args[i+1]
		case "-p":
			port, _ = strconv.Atoi(args[i+1])
		}
	}
	handler := echo
	if args[0] == "chat" {
		handler = chat
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-servers: cannot listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", listener.Addr())
	for {
		conn, err := listener.Accept()
		if err != nil {
			continue
		}
		go handler(conn)
	}
}
