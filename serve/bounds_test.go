package serve_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapenet/tapenet/serve"
)

// peakMemory samples the process's Go heap (runtime/metrics) and RSS
// (/proc/self/status) every 2 ms while f runs and returns their peaks.
func peakMemory(f func()) (heap, rss uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			metrics.Read(sample)
			heap = max(heap, sample[0].Value.Uint64())
			rss = max(rss, vmRSS())
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	return heap, rss
}

// vmRSS returns the process's resident set in bytes (0 off Linux).
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rgba16PNG returns a white 16-bit RGBA PNG of w x h pixels with a black
// stroke, written row by row (a few hundred KB that decode to 8 bytes a
// pixel, made without holding the pixels).
func rgba16PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		c := append([]byte(kind), data...)
		buf.Write(c)
		binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16-bit RGBA
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	white := bytes.Repeat([]byte{0xff}, 1+8*w)
	white[0] = 0 // filter: none
	stroke := bytes.Clone(white)
	for x := w / 3; x < w/3+w/10; x++ {
		copy(stroke[1+8*x:], []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff})
	}
	for y := range h {
		row := white
		if y >= h/5 && y < 4*h/5 {
			row = stroke
		}
		zw.Write(row)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return buf.Bytes()
}

// The two remote exhaustions of the hostile run stay bounded: requests
// naming their output 150,000 times over 1,024 samples are refused before
// any work; sixteen concurrent 16-bit RGBA PNGs of 16 megapixels (the
// issue's: 208 MB each to decode and frame) are refused from their header
// (413, over the 128 MiB a decode may take), and sixteen of one
// megapixels are decoded two at a time and classified. The process's heap
// and RSS stay under 1 GB throughout.
func TestRemoteExhaustion(t *testing.T) {
	_, ts := start(t, "mlp", serve.Options{MemoryWait: time.Minute})
	const samples = 1024
	var b strings.Builder
	b.WriteString(`{"inputs":[{"name":"input","shape":[1024,784],"datatype":"FP32","data":[`)
	for i := range samples * 784 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('0')
	}
	b.WriteString(`]}],"outputs":[`)
	b.WriteString(strings.TrimSuffix(strings.Repeat(`{"name":"softmax1"},`, 150000), ","))
	b.WriteString(`]}`)
	repeated := []byte(b.String())
	huge, pic := rgba16PNG(t, 4096, 4096), rgba16PNG(t, 1000, 1000)
	t.Logf("requests: %.1f MB naming the output 150,000 times; a %d KB 4096x4096 and a %d KB 1000x1000 RGBA16 PNG", float64(len(repeated))/1e6, len(huge)>>10, len(pic)>>10)

	runtime.GC()
	var mu sync.Mutex
	codes := map[string]int{}
	heap, rss := peakMemory(func() {
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r response
				var err error
				switch {
				case i < 8:
					r, err = tryDo("POST", ts.URL+"/v2/models/mlp/infer", "application/json", bytes.NewReader(repeated))
				case i < 24:
					r, err = tryDo("POST", ts.URL+"/v1/classify", "image/png", bytes.NewReader(huge))
				default:
					r, err = tryDo("POST", ts.URL+"/v1/classify", "image/png", bytes.NewReader(pic))
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					codes[err.Error()]++
					return
				}
				key := strconv.Itoa(r.code)
				if r.code != 200 {
					key += " " + strings.TrimSpace(string(r.body))
				}
				codes[key]++
			}()
		}
		wg.Wait()
	})
	t.Logf("answers %v; peak heap %d MB, peak RSS %d MB", codes, heap>>20, rss>>20)
	if codes[`400 {"error":"output \"softmax1\" named twice"}`] != 8 {
		t.Errorf("the repeated-output requests were not all refused with 400")
	}
	if codes[`413 {"error":"image too large: png of 4096x4096 pixels takes 208 MiB to decode (at most 128 MiB)"}`] != 16 {
		t.Errorf("the 16-megapixel images were not all refused with 413")
	}
	if codes["200"] != 16 {
		t.Errorf("not every image was classified")
	}
	if heap > 1<<30 || rss > 1<<30 {
		t.Errorf("peak heap %d MB, RSS %d MB: over 1 GB", heap>>20, rss>>20)
	}
}
