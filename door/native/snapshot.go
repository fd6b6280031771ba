package native

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/durable"
	"github.com/roster-io/roster/internal/param"
)

// Snapshots: GET /v1/snapshot answers a backup of the durable part of the
// registry (durable.EncodeSnapshot); POST /v1/snapshot restores one. Both
// need a token whenever ACLs are on, reads included (the gate).

// maxSnapshotBytes bounds a restore's body: a snapshot of about a million
// persistent instances, base64-encoded.
const maxSnapshotBytes = 1 << 30

// snapshotBody is the body of POST /v1/snapshot.
type snapshotBody struct {
	Snapshot []byte `json:"snapshot"` // the file, base64 in JSON
}

// snapshotReply answers POST /v1/snapshot.
type snapshotReply struct {
	Records int       `json:"records"`
	Applied int       `json:"applied"`
	Created time.Time `json:"created"`
}

func (d *Door) snapshotSave(w http.ResponseWriter, r *http.Request) {
	b, err := durable.EncodeSnapshot(durable.SnapshotRecords(d.core.Store().Records()), time.Now())
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (d *Door) snapshotRestore(w http.ResponseWriter, r *http.Request) {
	var body snapshotBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSnapshotBytes))
	if err := dec.Decode(&body); err != nil {
		gate.JSONError(w, &param.FieldError{Field: "snapshot", Reason: "not a JSON body with the snapshot in base64: " + err.Error()})
		return
	}
	recs, created, err := durable.DecodeSnapshot(body.Snapshot)
	if err != nil {
		gate.JSONError(w, &param.FieldError{Field: "snapshot", Reason: err.Error()})
		return
	}
	applied, err := d.core.Restore(r.Context(), recs)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	gate.WriteJSON(w, http.StatusOK, snapshotReply{Records: len(recs), Applied: applied, Created: created})
}
