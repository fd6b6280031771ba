package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// execProcess is a program started by `roster run`. It runs in its own
// process group, so a Ctrl-C at the terminal reaches only roster run,
// which forwards it to the whole group after deregistering.
type execProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	code int // valid once done is closed
}

var _ process = (*execProcess)(nil)

// startProcess starts argv with the given standard streams.
func startProcess(argv []string, stdin io.Reader, stdout, stderr io.Writer) (*execProcess, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &execProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.code = exitCode(cmd.ProcessState, err)
		close(p.done)
	}()
	return p, nil
}

// exitCode is the shell's view of how a process ended: its exit code, or
// 128+N when signal N killed it.
func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		if err != nil {
			return 1
		}
		return 0
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) || err == nil {
		return ps.ExitCode()
	}
	return 1
}

// Signal sends sig to the program's process group (its PID is the
// group's id), so a shell wrapper and the server it started both get it,
// as they would from a terminal.
func (p *execProcess) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return p.cmd.Process.Signal(sig)
	}
	return syscall.Kill(-p.cmd.Process.Pid, s)
}

// Kill sends SIGKILL to the program's process group.
func (p *execProcess) Kill() error { return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }

func (p *execProcess) Done() <-chan struct{} { return p.done }

// ExitCode waits for the program and returns its exit code.
func (p *execProcess) ExitCode() int {
	<-p.done
	return p.code
}
