package imageprep

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// digitOn draws a thick stroke on an image of the given model.
func digitOn(m draw.Image) draw.Image {
	b := m.Bounds()
	draw.Draw(m, b, image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(m, image.Rect(b.Dx()/3, b.Dy()/5, b.Dx()/3+b.Dx()/10, 4*b.Dy()/5), image.NewUniform(color.Black), image.Point{}, draw.Src)
	return m
}

// allocated returns the bytes f allocates (runtime.MemStats.TotalAlloc).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// DecodeCost's estimate covers what decoding and framing really allocate,
// measured, for each colour model the decoders produce, and is not far
// above it.
func TestDecodeCostCoversAllocation(t *testing.T) {
	const w, h = 900, 700
	r := image.Rect(0, 0, w, h)
	for _, test := range []struct {
		name   string
		format string
		img    draw.Image
		bpp    int64 // DecodeCost wanted
	}{
		{"png gray", "png", image.NewGray(r), 1 + 5},
		{"png gray16", "png", image.NewGray16(r), 2 + 5},
		{"png nrgba", "png", image.NewNRGBA(r), 4 + 5},
		{"png rgba64 (16-bit RGBA)", "png", image.NewNRGBA64(r), 8 + 5},
		{"jpeg colour", "jpeg", image.NewRGBA(r), 3 + 5},
		{"jpeg gray", "jpeg", image.NewGray(r), 1 + 5},
		{"gif", "gif", image.NewRGBA(r), 1 + 5},
		{"bmp", "bmp", image.NewRGBA(r), 4 + 5},
	} {
		t.Run(test.name, func(t *testing.T) {
			img := digitOn(test.img)
			if test.name == "png nrgba" || test.name == "png rgba64 (16-bit RGBA)" {
				// Translucent pixels keep the encoder from dropping alpha.
				img.Set(0, 0, color.NRGBA{1, 2, 3, 4})
			}
			var data []byte
			if test.format == "bmp" {
				var buf bytes.Buffer
				if err := bmp.Encode(&buf, img); err != nil {
					t.Fatal(err)
				}
				data = buf.Bytes()
			} else {
				data = encode(t, test.format, img)
			}
			hd, err := ReadHeader(data)
			if err != nil {
				t.Fatal(err)
			}
			if got := hd.Memory / (w * h); got != test.bpp {
				t.Errorf("DecodeCost %d bytes a pixel, want %d", got, test.bpp)
			}
			var derr error
			used := allocated(func() {
				var dec image.Image
				if dec, derr = DecodeBytes(data); derr == nil {
					_, derr = Frame(dec, Options{})
				}
			})
			if derr != nil {
				t.Fatal(derr)
			}
			t.Logf("%s: %d bytes of data; allocated %.1f MB, estimated %.1f MB", test.name, len(data), float64(used)/1e6, float64(hd.Memory)/1e6)
			if int64(used) > hd.Memory {
				t.Errorf("decoding and framing allocated %d bytes, more than the %d estimated", used, hd.Memory)
			}
			if int64(used)*3 < hd.Memory {
				t.Errorf("estimate %d bytes is over 3x the %d allocated", hd.Memory, used)
			}
		})
	}
}

// A small 16-bit RGBA PNG of many pixels is refused from its header: the
// pixels it would take are never allocated.
func TestDecodeMemoryLimit(t *testing.T) {
	img := digitOn(image.NewNRGBA64(image.Rect(0, 0, 2000, 2000)))
	img.Set(0, 0, color.NRGBA64{1, 2, 3, 4})
	data := encode(t, "png", img)
	lim := Limits{Memory: 32 << 20}
	var err error
	used := allocated(func() { _, err = DecodeWith(bytes.NewReader(data), lim) })
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MiB to decode") {
		t.Fatalf("got %v, want ErrTooLarge naming the memory", err)
	}
	if used > uint64(len(data))+1<<20 {
		t.Errorf("refusing it allocated %d bytes (the data is %d)", used, len(data))
	}
	if _, err := DecodeWith(bytes.NewReader(data), Limits{Memory: 64 << 20}); err != nil {
		t.Errorf("within 64 MiB (4 Mpx x 13 B): %v", err)
	}
}

// A Decoder runs at most its slots at once; a caller that cannot get one
// before its context ends gets ErrBusy, and one slot freed lets it in.
func TestDecoderSlots(t *testing.T) {
	data := encode(t, "png", digitOn(image.NewGray(image.Rect(0, 0, 50, 50))))
	d := NewDecoder(Limits{}, 1)
	d.slots <- struct{}{} // a decode in progress
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := d.Decode(ctx, data); !errors.Is(err, ErrBusy) {
		t.Fatalf("with the one slot taken: %v, want ErrBusy", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.Decode(context.Background(), data)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("decoded while the slot was taken (%v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	<-d.slots
	if err := <-done; err != nil {
		t.Fatalf("once the slot is free: %v", err)
	}
	if len(d.slots) != 0 {
		t.Error("the slot was not given back")
	}
	if _, err := d.Decode(context.Background(), make([]byte, MaxBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("data over the limit: %v", err)
	}
}

// TIFF is registered with the image package by other imports (x/image/tiff
// here, gonum/plot in the CLI) but is not among Formats: refused, and the
// message lists the formats that are read.
func TestFormatsOnly(t *testing.T) {
	var buf bytes.Buffer
	if err := tiff.Encode(&buf, digitOn(image.NewGray(image.Rect(0, 0, 30, 30))), nil); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeBytes(buf.Bytes())
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "TIFF") || !strings.Contains(err.Error(), FormatList) {
		t.Fatalf("TIFF: %v", err)
	}
	for _, f := range Formats() {
		name := map[string]string{"webp": "WebP"}[f]
		if name == "" {
			name = strings.ToUpper(f)
		}
		if !strings.Contains(FormatList, name) {
			t.Errorf("FormatList %q does not name %s", FormatList, name)
		}
	}
}

// 16-bit images frame as their 8-bit forms do (the fast paths of luma).
func TestFrame16Bit(t *testing.T) {
	r := image.Rect(0, 0, 60, 50)
	ref := digitOn(image.NewNRGBA(r)).(*image.NRGBA)
	for i := 3; i < len(ref.Pix); i += 4 * 7 {
		ref.Pix[i] = 100 // some translucent pixels
	}
	want, err := Frame(ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]draw.Image{"nrgba64": image.NewNRGBA64(r), "rgba64": image.NewRGBA64(r), "gray16": image.NewGray16(r)} {
		draw.Draw(img, r, ref, image.Point{}, draw.Src)
		g, err := Frame(img, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "gray16" {
			continue // alpha is lost; framed without error is the check
		}
		for i := range g.Pix {
			if d := int(g.Pix[i]) - int(want.Pix[i]); d < -1 || d > 1 {
				t.Fatalf("%s: pixel %d is %d, the 8-bit frame's %d", name, i, g.Pix[i], want.Pix[i])
			}
		}
	}
}
