package health

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// TCP checks without a worker. The scheduler makes a TCP check itself
// with non-blocking system calls (tcpConn): it starts the connection and
// looks again at once, which on loopback (and whenever the handshake is
// already done) ends the check without a goroutine switch; handing each
// check to a worker and its result back cost more CPU than the
// connection itself (BenchmarkChecker). A handshake still running goes
// to the poller: one goroutine waiting on one epoll set for every such
// connection, as Nacos' TCP checker waits on one NIO selector. So a
// target that never answers holds a socket until the check's timeout,
// not a worker; with a worker per waiting check, 32 workers and a 2 s
// timeout would check only 16 silent targets a second, and a few dozen
// instances on a powered-off host would hold up every other check.

// maxPending bounds the connections waiting in the poller (and a
// quarter of the process's file descriptor limit bounds it further);
// beyond it due TCP checks wait (counted as deferred).
const maxPending = 4096

// pendingConn is a TCP check whose handshake runs.
type pendingConn struct {
	t        *target
	addr     string
	conn     tcpConn
	start    time.Time
	deadline time.Time
	done     bool // ended; still in the poller's queue until popped
}

// poller waits for the handshakes of pending TCP checks and sends their
// results to out.
type poller struct {
	epfd  int
	wakeR int // a pipe whose write end wakes the wait (add to an empty poller, Stop)
	wakeW int
	max   int // connections it holds at most
	out   chan<- result
	stop  <-chan struct{}

	mu    sync.Mutex
	conns map[int32]*pendingConn // by socket
	queue []*pendingConn         // in order of deadline (all checks have the same timeout)
	idle  bool                   // run waits without a deadline: add must wake it
	added uint64                 // connections ever added
}

func newPoller(out chan<- result, stop <-chan struct{}) (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("health: poller: %w", os.NewSyscallError("epoll_create1", err))
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("health: poller: %w", os.NewSyscallError("pipe2", err))
	}
	p := &poller{epfd: epfd, wakeR: fds[0], wakeW: fds[1], out: out, stop: stop, conns: map[int32]*pendingConn{}, max: maxPending}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		p.max = int(min(max(lim.Cur/4, 16), maxPending))
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wakeR)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wakeR, &ev); err != nil {
		p.close()
		return nil, fmt.Errorf("health: poller: %w", os.NewSyscallError("epoll_ctl", err))
	}
	return p, nil
}

// full reports whether the poller holds as many connections as it may.
func (p *poller) full() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns) >= p.max
}

// add hands pc's connection to the poller.
func (p *poller) add(pc *pendingConn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: int32(pc.conn.fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, pc.conn.fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	if p.idle {
		p.idle = false
		p.wake()
	}
	p.added++
	p.conns[int32(pc.conn.fd)] = pc
	p.queue = append(p.queue, pc)
	return nil
}

// wake interrupts the poller's wait.
func (p *poller) wake() { _, _ = syscall.Write(p.wakeW, []byte{0}) }

// run waits for handshakes to end and for deadlines, until stop, and
// then closes the poller.
func (p *poller) run() {
	defer p.close()
	events := make([]syscall.EpollEvent, 128)
	var buf [64]byte
	var done []result
	for {
		n, err := syscall.EpollWait(p.epfd, events, p.timeout())
		if err != nil && err != syscall.EINTR {
			panic(fmt.Sprintf("health: poller: epoll_wait: %v", err)) // EBADF, EFAULT, EINVAL: a bug
		}
		select {
		case <-p.stop:
			return
		default:
		}
		done = p.collect(events[:max(n, 0)], time.Now(), done[:0], buf[:])
		for _, r := range done {
			select {
			case p.out <- r:
			case <-p.stop:
				return
			}
		}
		clear(done)
	}
}

// collect takes the connections whose handshake ended or whose deadline
// passed, appending their results to done.
func (p *poller) collect(events []syscall.EpollEvent, now time.Time, done []result, buf []byte) []result {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		if int(ev.Fd) == p.wakeR {
			for {
				if n, _ := syscall.Read(p.wakeR, buf); n <= 0 {
					break
				}
			}
			continue
		}
		pc := p.conns[ev.Fd]
		if pc == nil {
			continue
		}
		ended, err := pc.conn.ended()
		if !ended { // woken early: wait again
			rearm := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: ev.Fd}
			if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, pc.conn.fd, &rearm); err == nil {
				continue
			}
			pc.conn.close()
			err = errors.New("connect: lost in the poller")
		}
		delete(p.conns, ev.Fd)
		pc.done = true
		done = append(done, result{t: pc.t, ok: err == nil, err: wrapTCP(pc.addr, err), dur: now.Sub(pc.start)})
	}
	for len(p.queue) > 0 && (p.queue[0].done || !now.Before(p.queue[0].deadline)) {
		pc := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		if pc.done {
			continue
		}
		delete(p.conns, int32(pc.conn.fd))
		pc.conn.close() // closing removes it from the epoll set
		done = append(done, result{t: pc.t, err: wrapTCP(pc.addr, errors.New("connect: i/o timeout")), dur: now.Sub(pc.start)})
	}
	if len(p.queue) == 0 {
		p.queue = nil // let the backing array go
	}
	return done
}

// timeout is the wait until the earliest deadline, in milliseconds
// (rounded up), or -1 (no deadline, and add wakes the wait) when nothing
// waits.
func (p *poller) timeout() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.queue {
		if !pc.done {
			return max(0, int((time.Until(pc.deadline)+time.Millisecond-1)/time.Millisecond))
		}
	}
	p.idle = true
	return -1
}

// total is the number of connections ever added.
func (p *poller) total() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.added
}

// close closes every connection and the poller, as run returns.
func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for fd, pc := range p.conns {
		pc.conn.close()
		delete(p.conns, fd)
	}
	p.queue = nil
	syscall.Close(p.epfd)
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
}

// connectTCP makes t's TCP check in the scheduler, which has taken t off
// the heap (inlineTCP).
func (c *Checker) connectTCP(t *target, now time.Time) {
	t.busy = true
	conn, done, err := startConn(t.ap, true)
	if !done {
		done, err = conn.ended()
	}
	if !done {
		pc := &pendingConn{t: t, addr: t.addr, conn: conn, start: now, deadline: now.Add(c.cfg.Timeout)}
		if err = c.poller.add(pc); err == nil {
			return
		}
		conn.close()
	}
	c.apply(result{t: t, ok: err == nil, err: wrapTCP(t.addr, err), dur: time.Since(now), local: localError(err)})
}

// localError reports whether err is this node's want of a resource (a
// socket, a local port, memory) rather than an answer of the target.
func localError(err error) bool {
	var se *os.SyscallError
	if errors.As(err, &se) && (se.Syscall == "socket" || se.Syscall == "setsockopt" || se.Syscall == "epoll_ctl") {
		return true
	}
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

func wrapTCP(addr string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("tcp connect %s: %w", addr, err)
}
