package server

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendBuffer is the kernel's send buffer of a socket's connection: it tells
// how much the buffer holds that the client has not taken yet (SIOCOUTQ),
// and the most it should hold before a write may wait: half its size, the
// rest being the kernel's own overhead. The zero value knows nothing.
type sendBuffer struct {
	rc   syscall.RawConn
	size int
}

// sendBufferOf answers the send buffer of c, if c is a socket that can tell.
func sendBufferOf(c net.Conn) sendBuffer {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return sendBuffer{}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return sendBuffer{}
	}
	size := 0
	if cerr := rc.Control(func(fd uintptr) { size, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF) }); cerr != nil || err != nil || size <= 0 {
		return sendBuffer{}
	}
	return sendBuffer{rc, size}
}

// fill answers how many bytes the buffer holds and the most it should;
// ok is false when it cannot tell.
func (b sendBuffer) fill() (queued, most int, ok bool) {
	if b.rc == nil {
		return 0, 0, false
	}
	var err error
	if cerr := b.rc.Control(func(fd uintptr) { queued, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); cerr != nil || err != nil {
		return 0, 0, false
	}
	return queued, b.size / 2, true
}
