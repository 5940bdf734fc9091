//go:build !linux

package server

import "net"

// sendBuffer is the kernel's send buffer of a socket's connection, where
// the kernel cannot tell how full it is: a writer then writes, and waits
// out a full buffer within the write wait.
type sendBuffer struct{}

func sendBufferOf(net.Conn) sendBuffer { return sendBuffer{} }

func (sendBuffer) fill() (queued, most int, ok bool) { return 0, 0, false }
