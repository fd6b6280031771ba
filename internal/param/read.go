package param

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
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
	ParseInto(v, string(b))
	return v, nil
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
