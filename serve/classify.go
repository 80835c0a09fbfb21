package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/imageprep"
)

// classifyResponse is the answer of POST /v1/classify.
type classifyResponse struct {
	Model         string    `json:"model"`
	Class         int       `json:"class"`
	Probabilities []float32 `json:"probabilities"`
	// Image is the 28x28 picture the model saw, a PNG in base64.
	Image string `json:"image"`
}

// imageModel returns the model the image endpoint uses: the named one, or
// with no name the model under Options.Name if it takes images, else the
// first (by name) that does; nil if none does.
func (s *Server) imageModel(name string) *model {
	if name != "" {
		return s.lookupModel(name)
	}
	if md := s.lookupModel(s.opt.Name); md != nil && md.takesImage() {
		return md
	}
	for _, n := range s.modelNames() {
		if md := s.lookupModel(n); md != nil && md.takesImage() {
			return md
		}
	}
	return nil
}

// classify answers an image upload (the raw body, or a multipart form's
// first file) with the class, the probabilities and the framed image.
func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	md := s.imageModel(r.PathValue("name"))
	switch {
	case md == nil && r.PathValue("name") != "":
		answerError(w, &requestError{http.StatusNotFound, fmt.Sprintf("unknown model %q (this server serves %s)", r.PathValue("name"), joinQuoted(s.modelNames()))})
		return
	case md == nil:
		answerError(w, &requestError{http.StatusNotFound, "no model served here takes a 28x28 image"})
		return
	case !md.takesImage():
		answerError(w, badRequest("model %q does not take a 28x28 image (inputs %s, first output %s); use /v2/models/%s/infer", md.name, joinQuoted(names(md.inputs)), md.meaning, md.name))
		return
	}
	data, release, err := s.upload(w, r)
	if err != nil {
		answerError(w, err)
		return
	}
	defer release()
	g, err := s.frame(r.Context(), data)
	if err != nil {
		answerError(w, err)
		return
	}
	outs, err := md.run(r.Context(), &prepared{xs: []values{{f: imageprep.Values(g)}}, n: 1})
	if err != nil {
		answerError(w, err)
		return
	}
	probs := outs[0]
	if err := graph.ToProbabilities(md.meaning, probs, len(probs)); err != nil {
		answerError(w, fmt.Errorf("model %s output %q: %w", md.name, md.outputs[0], err))
		return
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, g); err != nil {
		answerError(w, fmt.Errorf("encode the framed image: %w", err))
		return
	}
	class := 0
	for c, p := range probs {
		if p > probs[class] {
			class = c
		}
	}
	writeJSON(w, http.StatusOK, classifyResponse{
		Model: md.name, Class: class, Probabilities: probs,
		Image: base64.StdEncoding.EncodeToString(pngBuf.Bytes()),
	})
}

func names(in []graph.InputSpec) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.Name
	}
	return out
}

// frame decodes an uploaded image within the decode limits, its decoding
// memory (read from the header) taken from the memory budget, and frames
// it as MNIST's digits.
func (s *Server) frame(ctx context.Context, data []byte) (*image.Gray, error) {
	h, err := imageprep.ReadHeader(data)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	release, err := s.acquire(ctx, min(h.Memory, s.opt.MaxDecodeMemory+1), "decoding the image")
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, s.opt.MemoryWait)
	defer cancel()
	img, err := s.decoder.Decode(ctx, data)
	switch {
	case errors.Is(err, imageprep.ErrTooLarge):
		return nil, &requestError{http.StatusRequestEntityTooLarge, err.Error()}
	case errors.Is(err, imageprep.ErrBusy):
		return nil, err
	case err != nil:
		return nil, badRequest("%v", err)
	}
	g, err := imageprep.Frame(img, imageprep.Options{})
	if err != nil {
		return nil, &requestError{http.StatusUnprocessableEntity, err.Error()}
	}
	return g, nil
}

// upload returns the uploaded image's bytes: a multipart form's "image"
// file (or its first file), or else the body itself; release gives their
// memory back.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) ([]byte, func(), error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		body, release, err := s.readBody(w, r)
		if err == nil && len(body) == 0 {
			release()
			err = badRequest("empty body: send an image (%s) as the body or as a multipart file", imageprep.FormatList)
		}
		return body, release, err
	}
	if r.ContentLength > s.opt.MaxBodyBytes {
		return nil, nil, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is larger than %d bytes", r.ContentLength, s.opt.MaxBodyBytes)}
	}
	size := r.ContentLength
	if size < 0 {
		size = s.opt.MaxBodyBytes
	}
	release, err := s.acquire(r.Context(), 2*size, "the request body")
	if err != nil {
		return nil, nil, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes)
	data, err := filePart(r)
	if err != nil {
		release()
		return nil, nil, err
	}
	return data, release, nil
}

// filePart reads the multipart form's image file.
func filePart(r *http.Request) ([]byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("multipart form: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, badRequest("multipart form has no file: send the image as field \"image\"")
		}
		if err != nil {
			return nil, partErr(err)
		}
		if part.FormName() == "image" || part.FileName() != "" {
			return readPart(part)
		}
		part.Close()
	}
}

// partErr keeps a body over the limit and client-side failures as they
// are; anything else is a malformed form.
func partErr(err error) error {
	if code, _ := statusOf(err); code != http.StatusInternalServerError {
		return err
	}
	return badRequest("multipart form: %v", err)
}

func readPart(p *multipart.Part) ([]byte, error) {
	defer p.Close()
	b, err := io.ReadAll(p)
	if err != nil {
		return nil, partErr(err)
	}
	if len(b) == 0 {
		return nil, badRequest("the uploaded file is empty")
	}
	return b, nil
}
