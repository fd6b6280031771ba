package gate

import (
	"net/http"
	"strconv"

	"github.com/roster-io/roster/node"
)

// ReplicasHeader tells the client of a write how many nodes held it when
// it was answered: 2 when a peer confirmed it (it survives this node's
// loss), 1 when this node holds it alone (no peer was reachable within
// --replication-timeout; it spreads when one is). See node/replicas.go.
const ReplicasHeader = "X-Roster-Replicas"

// trackReplicas attaches a node.Replicas to a write request and returns
// the writer that sets ReplicasHeader from it when the answer starts.
func trackReplicas(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return w, r
	}
	ctx, rep := node.TrackReplicas(r.Context())
	return &replicasWriter{ResponseWriter: w, rep: rep}, r.WithContext(ctx)
}

// replicasWriter sets ReplicasHeader before the answer's header goes out.
type replicasWriter struct {
	http.ResponseWriter
	rep  *node.Replicas
	done bool
}

func (w *replicasWriter) WriteHeader(code int) {
	w.setHeader()
	w.ResponseWriter.WriteHeader(code)
}

func (w *replicasWriter) Write(p []byte) (int, error) {
	w.setHeader()
	return w.ResponseWriter.Write(p)
}

func (w *replicasWriter) setHeader() {
	if w.done {
		return
	}
	w.done = true
	if n := w.rep.Count(); n > 0 {
		w.Header().Set(ReplicasHeader, strconv.Itoa(n))
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *replicasWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
