package serve_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tapenet/tapenet/serve"
)

// rawPost writes a POST of body (claiming length bytes) on conn.
func rawPost(conn net.Conn, path, body string, length int) error {
	_, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, length, body)
	return err
}

func inferBody() string {
	return `{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":[` + strings.TrimSuffix(strings.Repeat("0,", 784), ",") + `]}]}`
}

// After its context ends (SIGTERM), Serve answers requests on kept-alive
// connections with 503 and Connection: close for Options.Drain, rather
// than resetting them; then the listener closes.
func TestDrainKeepAlive(t *testing.T) {
	srv, err := serve.New(loadModel("mlp"), serve.Options{Name: "mlp", Workers: 1, Drain: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	body := inferBody()
	if err := rawPost(conn, "/v2/models/mlp/infer", body, len(body)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("before shutdown: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	cancel() // SIGTERM
	time.Sleep(50 * time.Millisecond)
	if err := rawPost(conn, "/v2/models/mlp/infer", body, len(body)); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the kept-alive connection was reset: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 503 || !resp.Close || resp.Header.Get("Retry-After") == "" { // Close: the "Connection: close" header
		t.Errorf("during the drain: %d %v", resp.StatusCode, resp.Header)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after Connection: close (%v)", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("listener still open after the drain")
	}
}

// Failures on the client's side are 4xx with a plain message, and are not
// counted as server errors: a body that stops arriving (the read times
// out: 408) and an upload cut short (400).
func TestClientFailures(t *testing.T) {
	srv, err := serve.New(loadModel("mlp"), serve.Options{Name: "mlp", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ReadTimeout = 300 * time.Millisecond
	ts.Start()
	t.Cleanup(func() { ts.Close(); srv.Close() })
	addr := ts.Listener.Addr().String()
	for _, test := range []struct {
		name  string
		abort bool
		code  int
		msg   string
	}{
		{"read timeout", false, 408, "reading the request timed out"},
		{"aborted upload", true, 400, "the request body ended early (the upload was aborted)"},
	} {
		t.Run(test.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := rawPost(conn, "/v2/models/mlp/infer", `{"inputs":[`, 5000); err != nil {
				t.Fatal(err)
			}
			if test.abort {
				conn.(*net.TCPConn).CloseWrite()
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != test.code || !strings.Contains(string(b), test.msg) || strings.Contains(string(b), "127.0.0.1") {
				t.Errorf("%d %s, want %d %q", resp.StatusCode, b, test.code, test.msg)
			}
		})
	}
	metrics := string(do(t, "GET", ts.URL+"/metrics", "", nil).body)
	if strings.Contains(metrics, `code="5`) {
		t.Errorf("client failures counted as server errors:\n%s", grepLines(metrics, "tapenet_http_requests_total"))
	}
	for _, want := range []string{`code="408",model="mlp"`, `code="400",model="mlp"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
