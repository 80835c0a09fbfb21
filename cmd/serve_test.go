package cmd_test

import (
	"bufio"
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// inFlight reads the server's tapenet_http_requests_in_flight (the
// /metrics request itself included).
func inFlight(t *testing.T, base string) int {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "tapenet_http_requests_in_flight{") || strings.HasPrefix(line, "tapenet_http_requests_in_flight ") {
			n, _ := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
			return n
		}
	}
	return -1
}

// The serve process answers, and on SIGTERM finishes the request in
// flight, then exits 0.
func TestServeSIGTERM(t *testing.T) {
	cmd := exec.Command(filepath.Join(bin, "serve"), "--addr", "127.0.0.1:0", "--max-delay", "500ms", "--workers", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first line %q names no address", line)
	}
	base := m[1]
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/v2/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("not ready after 30 s")
		}
	}
	body := `{"inputs":[{"name":"input","shape":[1,784],"datatype":"UINT8","data":[` + strings.TrimSuffix(strings.Repeat("0,", 784), ",") + `]}]}`
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/v2/models/mlp/infer", "application/json", strings.NewReader(body))
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	// The request waits up to 500 ms for company; signal once it is in.
	for start := time.Now(); inFlight(t, base) < 2; time.Sleep(2 * time.Millisecond) { // it and /metrics
		if time.Since(start) > 10*time.Second {
			t.Fatal("the request never arrived")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-answered; code != 200 {
		t.Errorf("request in flight at SIGTERM: status %d", code)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; stderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "serve: stopped") {
		t.Errorf("stderr: %s", stderr.String())
	}
}
