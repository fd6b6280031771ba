package nacos

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/roster-io/roster/door/gate"
)

// The beat answer is the most frequent answer a node writes; it is
// encoded by hand into a pooled buffer, the same bytes encoding/json
// writes for nacosBeatReply, without reflection or an allocation per
// beat.

var beatBufs = sync.Pool{New: func() any { b := make([]byte, 0, 96); return &b }}

// appendJSON appends the reply as encoding/json would encode it.
func (r nacosBeatReply) appendJSON(b []byte) []byte {
	b = append(b, `{"clientBeatInterval":`...)
	b = strconv.AppendInt(b, r.ClientBeatInterval, 10)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(r.Code), 10)
	b = append(b, `,"lightBeatEnabled":`...)
	b = strconv.AppendBool(b, r.LightBeatEnabled)
	return append(b, '}')
}

// write answers the reply with status 200.
func (r nacosBeatReply) write(w http.ResponseWriter) {
	bp := beatBufs.Get().(*[]byte)
	*bp = r.appendJSON((*bp)[:0])
	gate.WriteJSONBytes(w, http.StatusOK, *bp)
	beatBufs.Put(bp)
}
