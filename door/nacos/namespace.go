package nacos

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// The console's namespaces (/nacos/v1/console/namespaces), as Nacos 1.4
// shapes them. A namespace exists for naming as soon as something is
// registered in it, as in Nacos; creating one gives it a display name and
// a description. The list shows the public namespace (id "", as Nacos
// shows it), every created namespace and every namespace that holds
// services, each with its service and instance counts.
//
// Created namespaces are replicated records (system.go): a namespace
// created through any node is seen by every node.

// Namespace limits, as Nacos 1.4's console enforces them.
const (
	maxNamespaceID   = 128
	maxNamespaceText = 256
	maxNamespaces    = 1024
	namespaceQuota   = 200 // what Nacos reports; roster enforces no quota
)

var namespaceIDPattern = regexp.MustCompile(`^[\w-]+$`)

// namespaceInfo is a created namespace.
type namespaceInfo struct {
	ID, Name, Desc string
}

// createdNamespace returns created namespace id, if it exists.
func (d *Door) createdNamespace(id string) (namespaceInfo, bool) {
	if id == "" {
		return namespaceInfo{}, false
	}
	snap := d.core.Snapshot(namespaceKey(id))
	if !snap.Exists {
		return namespaceInfo{}, false
	}
	return namespaceInfo{ID: id, Name: snap.Info.Metadata[mdName], Desc: snap.Info.Metadata[mdDesc]}, true
}

// createdNamespaces returns every created namespace, sorted by id.
func (d *Door) createdNamespaces() []namespaceInfo {
	var out []namespaceInfo
	for _, s := range d.core.Services(systemNamespace, namespacesGroup) {
		if ns, ok := d.createdNamespace(s.Key.Service); ok {
			out = append(out, ns)
		}
	}
	return out
}

// namespaceView is one namespace in the list (Nacos' Namespace, plus
// roster's counts).
type namespaceView struct {
	Namespace         string `json:"namespace"`
	NamespaceShowName string `json:"namespaceShowName"`
	Quota             int    `json:"quota"`
	ConfigCount       int    `json:"configCount"`
	Type              int    `json:"type"` // 0 public, 2 custom
	ServiceCount      int    `json:"serviceCount"`
	InstanceCount     int    `json:"instanceCount"`
}

// namespaceAll is the body of GET with show=all (Nacos' NamespaceAllInfo).
type namespaceAll struct {
	Namespace         string `json:"namespace"`
	NamespaceShowName string `json:"namespaceShowName"`
	Quota             int    `json:"quota"`
	ConfigCount       int    `json:"configCount"`
	Type              int    `json:"type"`
	NamespaceDesc     string `json:"namespaceDesc"`
}

// restResult is Nacos' RestResult envelope.
type restResult struct {
	Code    int     `json:"code"`
	Message *string `json:"message"`
	Data    any     `json:"data"`
}

// storeNamespace maps a console namespace id to the registry's: "" is
// public.
func storeNamespace(id string) string {
	if id == "" {
		return store.DefaultNamespace
	}
	return id
}

// view returns the list entry of namespace id.
func (d *Door) view(id, name string) namespaceView {
	v := namespaceView{Namespace: id, NamespaceShowName: name, Quota: namespaceQuota, Type: 2}
	if id == "" {
		v.Type = 0
	}
	for _, s := range d.core.Services(storeNamespace(id), "") {
		v.ServiceCount++
		v.InstanceCount += s.Instances
	}
	return v
}

// namespaceGet handles GET console/namespaces: the list, one namespace
// with show=all, or whether an id exists with checkNamespaceIdExist=true.
func (d *Door) namespaceGet(w http.ResponseWriter, r *http.Request, p param.Values) error {
	if p.Get("checkNamespaceIdExist") == "true" {
		id := strings.TrimSpace(p.Get("customNamespaceId"))
		_, ok := d.createdNamespace(id)
		gate.WriteJSON(w, http.StatusOK, id != "" && (ok || len(d.core.Services(id, "")) > 0))
		return nil
	}
	if p.Get("show") == "all" {
		return d.namespaceShow(w, p)
	}
	out := []namespaceView{d.view("", "public")}
	seen := map[string]bool{"": true, store.DefaultNamespace: true}
	for _, ns := range d.createdNamespaces() {
		seen[ns.ID] = true
		out = append(out, d.view(ns.ID, ns.Name))
	}
	var implicit []string
	for _, k := range d.core.Store().AllServices() {
		if !seen[k.Namespace] && k.Namespace != systemNamespace {
			seen[k.Namespace] = true
			implicit = append(implicit, k.Namespace)
		}
	}
	slices.Sort(implicit)
	for _, id := range implicit {
		out = append(out, d.view(id, id))
	}
	gate.WriteJSON(w, http.StatusOK, restResult{Code: 200, Data: out})
	return nil
}

// namespaceShow answers GET with show=all.
func (d *Door) namespaceShow(w http.ResponseWriter, p param.Values) error {
	id := strings.TrimSpace(p.Get("namespaceId"))
	if id == "" || id == store.DefaultNamespace {
		gate.WriteJSON(w, http.StatusOK, namespaceAll{Namespace: id, NamespaceShowName: "Public", Quota: namespaceQuota, Type: 0, NamespaceDesc: "Public Namespace"})
		return nil
	}
	ns, ok := d.createdNamespace(id)
	if !ok {
		if len(d.core.Services(id, "")) == 0 {
			return fmt.Errorf("nacos: namespace %s: %w", quote(id), store.ErrNotFound)
		}
		ns = namespaceInfo{ID: id, Name: id}
	}
	gate.WriteJSON(w, http.StatusOK, namespaceAll{Namespace: id, NamespaceShowName: ns.Name, Quota: namespaceQuota, Type: 2, NamespaceDesc: ns.Desc})
	return nil
}

// namespaceText validates a name or description.
func namespaceText(field, v string, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" && required {
		return "", &param.FieldError{Field: field, Reason: param.ReasonMissing}
	}
	if len(v) > maxNamespaceText {
		return "", &param.FieldError{Field: field, Reason: fmt.Sprintf("longer than %d bytes", maxNamespaceText)}
	}
	if _, err := param.OptionalName(field, v, ""); err != nil {
		return "", err
	}
	return v, nil
}

// namespaceCreate handles POST: customNamespaceId (a UUID when blank),
// namespaceName, namespaceDesc. Answers true.
func (d *Door) namespaceCreate(w http.ResponseWriter, r *http.Request, p param.Values) error {
	id := strings.TrimSpace(p.Get("customNamespaceId"))
	if id == "" {
		id = newUUID()
	}
	if len(id) > maxNamespaceID || !namespaceIDPattern.MatchString(id) || id == store.DefaultNamespace || id == systemNamespace {
		return &param.FieldError{Field: "customNamespaceId", Reason: fmt.Sprintf("must be at most %d letters, digits, '_' or '-', and not %q or %q",
			maxNamespaceID, store.DefaultNamespace, systemNamespace)}
	}
	name, err := namespaceText("namespaceName", p.Get("namespaceName"), true)
	if err != nil {
		return err
	}
	desc, err := namespaceText("namespaceDesc", p.Get("namespaceDesc"), false)
	if err != nil {
		return err
	}
	if len(d.core.Services(systemNamespace, namespacesGroup)) >= maxNamespaces {
		return &param.FieldError{Field: "customNamespaceId", Reason: fmt.Sprintf("there are already %d namespaces, the most roster holds", maxNamespaces)}
	}
	err = d.core.CreateService(r.Context(), namespaceKey(id), store.ServiceInfo{Metadata: map[string]string{mdName: name, mdDesc: desc}})
	if errors.Is(err, store.ErrServiceExists) {
		return &param.FieldError{Field: "customNamespaceId", Reason: "namespace " + quote(id) + " already exists"}
	}
	if err != nil {
		return err
	}
	gate.WriteJSON(w, http.StatusOK, true)
	return nil
}

// namespaceUpdate handles PUT: namespace, namespaceShowName,
// namespaceDesc. Answers true; 404 for a namespace never created.
func (d *Door) namespaceUpdate(w http.ResponseWriter, r *http.Request, p param.Values) error {
	id := strings.TrimSpace(p.Get("namespace"))
	if id == "" {
		return &param.FieldError{Field: "namespace", Reason: param.ReasonMissing}
	}
	name, err := namespaceText("namespaceShowName", p.Get("namespaceShowName"), true)
	if err != nil {
		return err
	}
	desc, err := namespaceText("namespaceDesc", p.Get("namespaceDesc"), false)
	if err != nil {
		return err
	}
	if _, ok := d.createdNamespace(id); !ok {
		return fmt.Errorf("nacos: namespace %s was never created: %w", quote(id), store.ErrNotFound)
	}
	err = d.core.UpdateService(r.Context(), namespaceKey(id), func(info *store.ServiceInfo) {
		info.Metadata = map[string]string{mdName: name, mdDesc: desc}
	})
	if errors.Is(err, store.ErrServiceNotFound) {
		return fmt.Errorf("nacos: namespace %s was never created: %w", quote(id), store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	gate.WriteJSON(w, http.StatusOK, true)
	return nil
}

// namespaceDelete handles DELETE: namespaceId. As in Nacos it removes the
// namespace's record, not what is registered in it. Answers true.
func (d *Door) namespaceDelete(w http.ResponseWriter, r *http.Request, p param.Values) error {
	id := strings.TrimSpace(p.Get("namespaceId"))
	if id == "" {
		return &param.FieldError{Field: "namespaceId", Reason: param.ReasonMissing}
	}
	if _, ok := d.createdNamespace(id); ok {
		if err := d.core.DeleteService(r.Context(), namespaceKey(id)); err != nil && !errors.Is(err, store.ErrServiceNotFound) {
			return err
		}
	}
	gate.WriteJSON(w, http.StatusOK, true)
	return nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
