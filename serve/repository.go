package serve

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/tapenet/tapenet/graph"
)

// Opener opens a model file of a repository (models.Open, for instance).
type Opener func(path string) (*graph.Model, error)

// ModelExtensions are the file extensions a model repository serves:
// safetensors checkpoints, the book's weights (pickle, npz) and ONNX.
var ModelExtensions = []string{".safetensors", ".pkl", ".npz", ".onnx"}

// validModelName is what a model name may be: it becomes part of URLs.
var validModelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// repository is the directory a Server's models come from (Triton's model
// repository extension): every model file in it, under its base name.
type repository struct {
	dir  string
	open Opener
	mu   sync.Mutex // one load or unload at a time
}

// scan lists the directory's model files by model name.
func (rp *repository) scan() (map[string]string, error) {
	entries, err := os.ReadDir(rp.dir)
	if err != nil {
		return nil, fmt.Errorf("model repository: %w", err)
	}
	files := map[string]string{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.Type().IsRegular() || !slices.Contains(ModelExtensions, strings.ToLower(ext)) {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ext)
		if !validModelName.MatchString(name) {
			continue
		}
		if prev, ok := files[name]; ok {
			return nil, fmt.Errorf("model repository %s: %s and %s both name model %q; rename one", rp.dir, filepath.Base(prev), e.Name(), name)
		}
		files[name] = filepath.Join(rp.dir, e.Name())
	}
	return files, nil
}

// NewRepository returns a Server for every model file in dir (see
// ModelExtensions), each under its file's base name, opened with open; the
// workers compile them in the background. POST /v2/repository/index lists
// the directory's models, /v2/repository/models/{name}/load loads (or
// reloads) one and /unload stops serving it. A file that does not open is
// an error naming it; a directory with no model file is an error.
func NewRepository(dir string, open Opener, opt Options) (*Server, error) {
	if opt.MaxBatch > 4096 {
		return nil, fmt.Errorf("serve: max batch %d is more than 4096", opt.MaxBatch)
	}
	s := newServer(opt)
	s.repo = &repository{dir: dir, open: open}
	files, err := s.repo.scan()
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("model repository %s: no model files (%s)", dir, strings.Join(ModelExtensions, ", "))
	}
	for _, name := range sortedKeys(files) {
		m, err := open(files[name])
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("model repository: %w", err)
		}
		if err := s.add(name, m); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// repositoryModel is one entry of POST /v2/repository/index.
type repositoryModel struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	State   string `json:"state,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// noRepository answers the repository endpoints of a server of one model.
func (s *Server) noRepository(w http.ResponseWriter) bool {
	if s.repo == nil {
		writeError(w, http.StatusBadRequest, "this server serves one model, not a model repository (start it with --model-repository)")
		return true
	}
	return false
}

func (s *Server) repositoryIndex(w http.ResponseWriter, r *http.Request) {
	if s.noRepository(w) {
		return
	}
	files, err := s.repo.scan()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for _, n := range s.modelNames() {
		if _, ok := files[n]; !ok {
			files[n] = "" // loaded, its file since removed
		}
	}
	list := []repositoryModel{}
	for _, name := range sortedKeys(files) {
		e := repositoryModel{Name: name}
		switch md := s.lookupModel(name); {
		case md == nil:
			e.State, e.Reason = "UNAVAILABLE", "unloaded"
		case md.ready():
			e.Version, e.State = modelVersion, "READY"
		default:
			select {
			case <-md.warmed:
				e.Version, e.State, e.Reason = modelVersion, "UNAVAILABLE", fmt.Sprint(md.batch.warmErr)
			default:
				e.Version, e.State = modelVersion, "LOADING"
			}
		}
		list = append(list, e)
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) repositoryLoad(w http.ResponseWriter, r *http.Request) {
	if s.noRepository(w) {
		return
	}
	name := r.PathValue("name")
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	files, err := s.repo.scan()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	path, ok := files[name]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no model %q in the repository %s", name, s.repo.dir))
		return
	}
	m, err := s.repo.open(path)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("load %s: %v", name, err))
		return
	}
	if err := s.add(name, m); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	md := s.lookupModel(name)
	select {
	case <-md.warmed:
	case <-r.Context().Done():
		answerError(w, context.Cause(r.Context()))
		return
	}
	if md.batch.warmErr != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("load %s: %v", name, md.batch.warmErr))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) repositoryUnload(w http.ResponseWriter, r *http.Request) {
	if s.noRepository(w) {
		return
	}
	name := r.PathValue("name")
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	s.mu.Lock()
	md := s.models[name]
	delete(s.models, name)
	s.mu.Unlock()
	if md == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q is not loaded", name))
		return
	}
	md.close()
	s.metrics.forget(name)
	writeJSON(w, http.StatusOK, struct{}{})
}
