package serve_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/serve"
)

var screenshots = flag.Bool("screenshots", false, "TestBrowser: write its screenshots to docs/serve-desktop.png and docs/serve-phone.png for the README")

// chromium returns the browser to drive. Without one the test skips,
// unless TAPENET_CHROMIUM is set (CI sets it), which makes that a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("TAPENET_CHROMIUM") != "" {
		t.Fatal("TAPENET_CHROMIUM is set but no chromium is on PATH (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); set TAPENET_CHROMIUM=1 to make this a failure")
	return ""
}

// strokes turns an MNIST digit into pen strokes: one per run of ink pixels
// (>= 128) in each row, in canvas pixels of a canvas of the given side.
func strokes(digit *image.Gray, side float64) [][2][2]float64 {
	var out [][2][2]float64
	px := side / 28
	for y := range 28 {
		for x := 0; x < 28; {
			if digit.GrayAt(x, y).Y < 128 {
				x++
				continue
			}
			start := x
			for x < 28 && digit.GrayAt(x, y).Y >= 128 {
				x++
			}
			cy := (float64(y) + 0.5) * px
			out = append(out, [2][2]float64{{(float64(start) + 0.5) * px, cy}, {(float64(x) - 0.5) * px, cy}})
		}
	}
	return out
}

// pointer sends one pointer event: a mouse event, or a touch event when
// touch is set (the touch screen of a phone).
func pointer(touch bool, phase string, x, y float64) chromedp.Action[chromedp.Void] {
	if !touch {
		typ := map[string]input.DispatchMouseEventType{"start": input.DispatchMouseEventTypeMousePressed, "move": input.DispatchMouseEventTypeMouseMoved, "end": input.DispatchMouseEventTypeMouseReleased}[phase]
		return chromedp.MouseEvent(typ, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1))
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := input.DispatchTouchEventParams{TouchPoints: []*input.TouchPoint{{X: x, Y: y, ID: ptr(0.0), RadiusX: ptr(8.0), RadiusY: ptr(8.0), Force: ptr(1.0)}}}
		switch phase {
		case "start":
			p.Type = input.DispatchTouchEventTypeTouchStart
		case "move":
			p.Type = input.DispatchTouchEventTypeTouchMove
		default:
			p.Type = input.DispatchTouchEventTypeTouchEnd
			p.TouchPoints = []*input.TouchPoint{}
		}
		_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, p)
		return err
	})
}

func ptr[T any](v T) *T { return &v }

// draw draws a digit on the page's canvas, stroke by stroke.
func draw(ctx context.Context, digit *image.Gray, touch bool) error {
	rect, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById('pad').getBoundingClientRect(); return [r.left, r.top, r.width]; })()`))
	if err != nil {
		return err
	}
	var steps []chromedp.Action[chromedp.Void]
	for _, s := range strokes(digit, rect[2]) {
		a, b := s[0], s[1]
		steps = append(steps, pointer(touch, "start", rect[0]+a[0], rect[1]+a[1]))
		steps = append(steps, pointer(touch, "move", rect[0]+b[0], rect[1]+b[1]), pointer(touch, "end", rect[0]+b[0], rect[1]+b[1]))
	}
	return chromedp.Do(ctx, steps...)
}

// answer waits until the page has no classification pending and returns
// the label it shows, the class its highest bar marks, and whether it shows
// the 28x28 image.
func answer(ctx context.Context) (label, topBar string, seen bool, err error) {
	if _, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.busy === '0' && document.body.dataset.answered !== undefined`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		return "", "", false, fmt.Errorf("waiting for the answer: %w", err)
	}
	if label, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#prediction"))); err != nil {
		return
	}
	if topBar, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#bars li.top .digit') || {}).textContent || ''`)); err != nil {
		return
	}
	seen, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('seen').src.startsWith('data:image/png;base64,') && document.getElementById('seen').naturalWidth === 28`))
	return strings.TrimSpace(label), topBar, seen, err
}

// TestBrowser opens the draw-a-digit page in headless Chromium, draws real
// MNIST test digits on the canvas with mouse events (and, as a phone, with
// touch events) and checks the label the page shows.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	_, ts := start(t, "convnet", serve.Options{})
	set, err := datasets.MNIST(datasets.Test, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	defer func() { t.Logf("browser test: %.1f s", time.Since(began).Seconds()) }()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(900, 640))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	var (
		mu         sync.Mutex
		pageErrors []string
	)
	console := chromedp.Console(bctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				pageErrors = append(pageErrors, m.String())
				mu.Unlock()
			}
		}
	}()

	for _, view := range []struct {
		name   string
		setup  chromedp.Action[chromedp.Void]
		touch  bool
		digits []int // MNIST test indices
		shot   string
	}{
		{"desktop, mouse", chromedp.EmulateViewport(900, 640), false, []int{1, 2, 3, 4, 0}, "serve-desktop.png"},
		{"phone, touch", chromedp.Emulate(device.IPhone13), true, []int{11, 7}, "serve-phone.png"},
	} {
		t.Run(view.name, func(t *testing.T) {
			if err := chromedp.Do(bctx, view.setup, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#pad"))); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			for _, i := range view.digits {
				digit, err := set.Gray(i)
				if err != nil {
					t.Fatal(err)
				}
				if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#clear"))); err != nil {
					t.Fatal(err)
				}
				if err := draw(bctx, digit, view.touch); err != nil {
					t.Fatal(err)
				}
				label, top, seen, err := answer(bctx)
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprint(set.Labels[i])
				if label != want || top != want || !seen {
					t.Errorf("test digit %d (a %s): the page shows %q, top bar %q, 28x28 shown %v", i, want, label, top, seen)
				}
			}
			t.Logf("%d digits drawn and read in %.1f s", len(view.digits), time.Since(began).Seconds())
			if err := chromedp.Do(bctx, chromedp.Sleep(500*time.Millisecond)); err != nil { // the bars' transitions
				t.Fatal(err)
			}
			shot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil || img.Bounds().Dx() < 300 {
				t.Fatalf("screenshot: %v %v", err, img.Bounds())
			}
			if *screenshots {
				if err := os.WriteFile(filepath.Join("..", "docs", view.shot), shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	// No script errors on the page.
	mu.Lock()
	defer mu.Unlock()
	for _, e := range pageErrors {
		t.Errorf("page console: %s", e)
	}
}
