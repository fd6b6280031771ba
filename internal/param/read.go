package param

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unsafe"
)

// DefaultMaxBody is the body limit Read applies when it is given none.
const DefaultMaxBody = 1 << 20

// Read collects the parameters of r: those of the query string first, then,
// for POST, PUT, PATCH and DELETE requests whose Content-Type is absent or
// application/x-www-form-urlencoded, those of the body. Other bodies (JSON for
// the native API, say) are left unread for the caller.
//
// At most maxBody bytes of body are read (DefaultMaxBody if maxBody <= 0); a
// larger body yields an error wrapping ErrBodyTooLarge.
func Read(r *http.Request, maxBody int64) (Values, error) {
	v := make(Values)
	if r.URL != nil {
		ParseInto(v, r.URL.RawQuery)
	}
	if r.Body == nil || r.Body == http.NoBody || !hasBody(r.Method) || !isForm(r.Header.Get("Content-Type")) {
		return v, nil
	}
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if r.ContentLength > maxBody {
		return nil, fmt.Errorf("%w: limit is %d bytes", ErrBodyTooLarge, maxBody)
	}
	b, err := readBody(r.Body, r.ContentLength, maxBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("%w: limit is %d bytes", ErrBodyTooLarge, tooLarge.Limit)
		}
		return nil, fmt.Errorf("param: read body: %w", err)
	}
	if int64(len(b)) > maxBody {
		return nil, fmt.Errorf("%w: limit is %d bytes", ErrBodyTooLarge, maxBody)
	}
	// b is never written again: the values may share its bytes, as they
	// would share those of a copy.
	ParseInto(v, unsafe.String(unsafe.SliceData(b), len(b)))
	return v, nil
}

// readBody reads a body of at most maxBody bytes, plus one to tell a
// larger one: in one allocation of its size when the request declared
// one (every Nacos client does), else growing as io.ReadAll does.
func readBody(body io.Reader, length, maxBody int64) ([]byte, error) {
	if length <= 0 || length > maxBody {
		return io.ReadAll(io.LimitReader(body, maxBody+1))
	}
	b := make([]byte, length)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// hasBody reports whether requests with method may carry form parameters in
// their body.
func hasBody(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// isForm reports whether a Content-Type header value announces a form body.
// An absent header counts, since nacos-sdk-go and curl scripts may omit it.
func isForm(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	return mediaType == "" || strings.EqualFold(mediaType, "application/x-www-form-urlencoded")
}
