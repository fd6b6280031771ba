package nacos

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Service listings: service/list (what clients page through), and
// service/names (the operator's search over every namespace).

// maxPage bounds pageNo and pageSize: larger values are clamped, never
// refused (Spring Cloud Alibaba and Dubbo ask for pageSize=2147483647 to
// mean "every service").
const maxPage = 1<<31 - 1

// allGroups is the groupName that lists every group, as in Nacos.
const allGroups = "*"

// pageBounds reads pageNo (from 1) and pageSize, clamped as Nacos treats
// them: a page before the first is the first, and a page size of 0 lists
// nothing. def is the default page size.
func pageBounds(p param.Values, def int) (start, end int, err error) {
	pageNo, err := param.ClampedInt("pageNo", p.Get("pageNo"), 1, 1, maxPage)
	if err != nil {
		return 0, 0, err
	}
	pageSize, err := param.ClampedInt("pageSize", p.Get("pageSize"), def, 0, maxPage)
	if err != nil {
		return 0, 0, err
	}
	start = (pageNo - 1) * pageSize
	return start, start + pageSize, nil
}

// page returns the part [start, end) of items, clamped to its length.
func page[T any](items []T, start, end int) []T {
	start, end = min(start, len(items)), min(end, len(items))
	return items[start:end]
}

// serviceList handles GET service/list: {"count":N,"doms":[...]}, the
// names of one group's services (every group's, as group@@service, for
// groupName=*), filtered by the label selector, paged from pageNo 1.
func (d *Door) serviceList(w http.ResponseWriter, r *http.Request, p param.Values) error {
	ns, err := nacosNamespace(p)
	if err != nil {
		return err
	}
	group := strings.TrimSpace(p.Get("groupName"))
	if group != allGroups {
		if group, err = param.OptionalName("groupName", group, store.DefaultGroup); err != nil {
			return err
		}
	}
	start, end, err := pageBounds(p, 10)
	if err != nil {
		return err
	}
	filter, err := parseListSelector(p.Get("selector"))
	if err != nil {
		return err
	}
	listGroup := group
	if group == allGroups {
		listGroup = ""
	}
	var names []string
	for _, s := range d.core.Services(ns, listGroup) {
		if filter != nil && !filter.keeps(d.core.Snapshot(s.Key)) {
			continue
		}
		if group == allGroups {
			names = append(names, s.Key.Grouped())
		} else {
			names = append(names, s.Key.Service)
		}
	}
	doms := append([]string{}, page(names, start, end)...)
	gate.WriteJSON(w, http.StatusOK, map[string]any{"count": len(names), "doms": doms})
	return nil
}

// maxExpr bounds the expr parameter of service/names.
const maxExpr = 512

// serviceNames handles GET service/names: the service names (without
// group) of one namespace, or of every namespace, that match the regular
// expression expr anywhere in group@@service, optionally only those this
// node is responsible for. {"services":{ns:[names]},"count":namespaces}.
func (d *Door) serviceNames(w http.ResponseWriter, r *http.Request, p param.Values) error {
	ns := strings.TrimSpace(p.Get("namespaceId"))
	if ns != "" {
		var err error
		if ns, err = param.Name("namespaceId", ns); err != nil {
			return err
		}
		if err := checkNamespace("namespaceId", ns); err != nil {
			return err
		}
	}
	if ns == "" { // every namespace: the read must span them all
		if err := d.gate.Check(r, p.Get("accessToken"), gate.Read, gate.Resource{}); err != nil {
			return err
		}
	}
	expr := p.Get("expr")
	if len(expr) > maxExpr {
		return &param.FieldError{Field: "expr", Reason: "longer than 512 bytes"}
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return &param.FieldError{Field: "expr", Reason: "not a regular expression: " + err.Error()}
	}
	responsibleOnly, err := param.Bool("responsibleOnly", p.Get("responsibleOnly"), false)
	if err != nil {
		return err
	}
	out := map[string][]string{}
	if ns != "" {
		out[ns] = []string{}
	}
	for _, k := range d.core.Store().AllServices() {
		if (ns != "" && k.Namespace != ns) || k.Namespace == systemNamespace {
			continue
		}
		if _, ok := out[k.Namespace]; !ok {
			out[k.Namespace] = []string{}
		}
		if !re.MatchString(k.Grouped()) {
			continue
		}
		if responsibleOnly {
			if owner, ok := d.core.Owner(k); !ok || !owner.Self {
				continue
			}
		}
		out[k.Namespace] = append(out[k.Namespace], k.Service)
	}
	for n, names := range out {
		slices.Sort(names)
		out[n] = slices.Compact(names)
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"services": out, "count": len(out)})
	return nil
}
