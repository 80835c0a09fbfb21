// Package book2 reads the files of "Deep Learning from Scratch 2"
// (github.com/oreilly-japan/deep-learning-from-scratch-2) for the examples
// under examples/book2: the word2vec file ch04/cbow_params.pkl (vectors and
// the PTB vocabulary) and the params lists BaseModel.save_params writes.
package book2

import (
	"fmt"
	"os"
	"strconv"

	"github.com/tapenet/tapenet/numpyio"
)

// Vocab is the book's vocabulary: word_to_id and id_to_word.
type Vocab struct {
	// Words holds id_to_word: the word of each id.
	Words []string
	// IDs holds word_to_id.
	IDs map[string]int
}

// CBOW is the content of ch04/cbow_params.pkl: the word vectors (the
// CBOW's W_in, float16 in the file) and the vocabulary.
type CBOW struct {
	// Vecs is the (vocabulary, hidden) matrix of word vectors, row-major.
	Vecs []float32
	// Dim is the vectors' length.
	Dim int
	Vocab
}

// Vec returns the vector of an id.
func (c *CBOW) Vec(id int) []float32 { return c.Vecs[id*c.Dim : (id+1)*c.Dim] }

// LoadCBOW reads a cbow_params.pkl: a pickle of the dict {'word_vecs':
// (V, H) array, 'word_to_id': {str: int}, 'id_to_word': {int: str}} whose
// two dicts agree with each other and with the matrix.
func LoadCBOW(path string) (*CBOW, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	obj, err := numpyio.ReadPickleObject(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := cbowOf(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func cbowOf(obj any) (*CBOW, error) {
	d, ok := obj.(*numpyio.Dict)
	if !ok {
		return nil, fmt.Errorf("not a dict of word_vecs, word_to_id and id_to_word")
	}
	vecs, ok := d.Values["word_vecs"].(numpyio.Array)
	if !ok || len(vecs.Shape) != 2 {
		return nil, fmt.Errorf("word_vecs is not a (vocabulary, hidden) array")
	}
	v, h := vecs.Shape[0], vecs.Shape[1]
	w2i, ok1 := d.Values["word_to_id"].(*numpyio.Dict)
	i2w, ok2 := d.Values["id_to_word"].(*numpyio.Dict)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("word_to_id or id_to_word is missing or not a dict")
	}
	if len(i2w.IntKeys) != v || len(i2w.Keys) != 0 || len(w2i.Keys) != v || len(w2i.IntKeys) != 0 {
		return nil, fmt.Errorf("%d word vectors but %d entries in id_to_word and %d in word_to_id", v, len(i2w.IntKeys)+len(i2w.Keys), len(w2i.Keys)+len(w2i.IntKeys))
	}
	c := &CBOW{Vecs: vecs.Data, Dim: h, Vocab: Vocab{Words: make([]string, v), IDs: make(map[string]int, v)}}
	for _, id := range i2w.IntKeys {
		w, ok := i2w.IntValues[id].(string)
		if !ok || id < 0 || id >= int64(v) {
			return nil, fmt.Errorf("id_to_word[%d] is not a word of an id below %d", id, v)
		}
		c.Words[id] = w
	}
	for _, w := range w2i.Keys {
		id, ok := w2i.Values[w].(int64)
		if !ok || id < 0 || id >= int64(v) || c.Words[id] != w {
			return nil, fmt.Errorf("word_to_id[%s] does not match id_to_word", strconv.Quote(w))
		}
		c.IDs[w] = int(id)
	}
	return c, nil
}

// ReadParams reads a params list written by the book's save_params: a
// pickle of a list of (float16) arrays, in the model's params order.
func ReadParams(path string) ([]numpyio.Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps, err := numpyio.ReadPickleArrays(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// PyFloat formats x as Python's repr(float) does: the shortest digits that
// read back as x, in exponent form below 1e-4 and from 1e16.
func PyFloat(x float64) string {
	a := x
	if a < 0 {
		a = -a
	}
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(x, 'e', -1, 64)
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	for _, r := range s {
		if r == '.' || r == 'N' || r == 'I' {
			return s
		}
	}
	return s + ".0"
}
