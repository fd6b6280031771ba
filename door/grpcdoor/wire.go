package grpcdoor

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/roster-io/roster/door/grpcdoor/pb"
)

// The JSON bodies of the Nacos 2.x protocol, with the field names of the
// Java classes in com.alibaba.nacos.api.(naming.)remote.

// Codes of responses, as in Nacos (ResponseCode and NacosException).
const (
	codeSuccess       = 200
	codeFail          = 500
	codeInvalidParam  = 400
	codeNoRight       = 403
	codeNotFound      = 404
	codeConflict      = 409
	codeOverThreshold = 503
	codeServerStatus  = 300 // INVALID_SERVER_STATUS: not ready; clients retry
	codeUnregistered  = 301 // UN_REGISTER: the connection is not set up; clients reconnect
	codeNoHandler     = 302 // NO_HANDLER: unknown request type
	codeBadGateway    = 502 // the body is not the request its type names
)

// response is the common part of every response.
type response struct {
	ResultCode int    `json:"resultCode"`
	ErrorCode  int    `json:"errorCode"`
	Success    bool   `json:"success"`
	Message    string `json:"message,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
}

func ok() response { return response{ResultCode: codeSuccess, Success: true} }

// failed is a response of a handler's type that failed with code.
func failed(code int, msg string) response {
	return response{ResultCode: codeFail, ErrorCode: code, Message: msg}
}

// errorResponse is Nacos' ErrorResponse: resultCode and errorCode are the
// code.
func errorResponse(code int, msg string) response {
	return response{ResultCode: code, ErrorCode: code, Message: msg}
}

// request is the common part of every request.
type request struct {
	RequestID string `json:"requestId"`
	Module    string `json:"module,omitempty"`
}

// namingRequest is AbstractNamingRequest.
type namingRequest struct {
	request
	Namespace   string `json:"namespace"`
	ServiceName string `json:"serviceName"`
	GroupName   string `json:"groupName"`
}

// wireInstance is com.alibaba.nacos.api.naming.pojo.Instance.
type wireInstance struct {
	InstanceID  string            `json:"instanceId"`
	IP          string            `json:"ip"`
	Port        int64             `json:"port"`
	Weight      *float64          `json:"weight"`
	Healthy     *bool             `json:"healthy"`
	Enabled     *bool             `json:"enabled"`
	Ephemeral   *bool             `json:"ephemeral"`
	ClusterName string            `json:"clusterName"`
	ServiceName string            `json:"serviceName"`
	Metadata    map[string]string `json:"metadata"`
}

// instanceRequest is InstanceRequest and PersistentInstanceRequest.
type instanceRequest struct {
	namingRequest
	Type     string       `json:"type"`
	Instance wireInstance `json:"instance"`
}

// batchInstanceRequest is BatchInstanceRequest.
type batchInstanceRequest struct {
	namingRequest
	Type      string         `json:"type"`
	Instances []wireInstance `json:"instances"`
}

// subscribeRequest is SubscribeServiceRequest.
type subscribeRequest struct {
	namingRequest
	Subscribe bool   `json:"subscribe"`
	Clusters  string `json:"clusters"`
}

// queryRequest is ServiceQueryRequest.
type queryRequest struct {
	namingRequest
	Cluster     string `json:"cluster"`
	HealthyOnly bool   `json:"healthyOnly"`
	UDPPort     int    `json:"udpPort"`
}

// listRequest is ServiceListRequest.
type listRequest struct {
	namingRequest
	PageNo   int    `json:"pageNo"`
	PageSize int    `json:"pageSize"`
	Selector string `json:"selector"`
}

// setupRequest is ConnectionSetupRequest.
type setupRequest struct {
	request
	ClientVersion string            `json:"clientVersion"`
	Tenant        string            `json:"tenant"`
	Labels        map[string]string `json:"labels"`
}

// host is one instance of a ServiceInfo.
type host struct {
	InstanceID                string            `json:"instanceId"`
	IP                        string            `json:"ip"`
	Port                      int               `json:"port"`
	Weight                    float64           `json:"weight"`
	Healthy                   bool              `json:"healthy"`
	Enabled                   bool              `json:"enabled"`
	Ephemeral                 bool              `json:"ephemeral"`
	ClusterName               string            `json:"clusterName"`
	ServiceName               string            `json:"serviceName"`
	Metadata                  map[string]string `json:"metadata"`
	InstanceHeartBeatInterval int64             `json:"instanceHeartBeatInterval"`
	InstanceHeartBeatTimeOut  int64             `json:"instanceHeartBeatTimeOut"`
	IPDeleteTimeout           int64             `json:"ipDeleteTimeout"`
	InstanceIDGenerator       string            `json:"instanceIdGenerator"`
}

// serviceInfo is com.alibaba.nacos.api.naming.pojo.ServiceInfo. Name is
// the service's name without its group.
type serviceInfo struct {
	Name                     string `json:"name"`
	GroupName                string `json:"groupName"`
	Clusters                 string `json:"clusters"`
	CacheMillis              int64  `json:"cacheMillis"`
	Hosts                    []host `json:"hosts"`
	LastRefTime              int64  `json:"lastRefTime"`
	Checksum                 string `json:"checksum"`
	AllIPs                   bool   `json:"allIPs"`
	ReachProtectionThreshold bool   `json:"reachProtectionThreshold"`
	Valid                    bool   `json:"valid"`
}

type serverCheckResponse struct {
	response
	ConnectionID              string `json:"connectionId"`
	SupportAbilityNegotiation bool   `json:"supportAbilityNegotiation"`
}

type instanceResponse struct {
	response
	Type string `json:"type"`
}

type serviceResponse struct {
	response
	ServiceInfo serviceInfo `json:"serviceInfo"`
}

type serviceListResponse struct {
	response
	Count        int      `json:"count"`
	ServiceNames []string `json:"serviceNames"`
}

// notifyRequest is NotifySubscriberRequest, pushed down the stream.
type notifyRequest struct {
	namingRequest
	ServiceInfo serviceInfo `json:"serviceInfo"`
}

// resetRequest is ConnectResetRequest: an empty serverIp asks the client
// to pick another server from its list.
type resetRequest struct {
	request
	ServerIP     string `json:"serverIp"`
	ServerPort   string `json:"serverPort"`
	ConnectionID string `json:"connectionId"`
}

// payload encodes v as a Payload of type typ.
func payload(typ string, v any) *pb.Payload {
	b, err := json.Marshal(v)
	if err != nil { // every value here encodes; keep the wire valid anyway
		b, _ = json.Marshal(errorResponse(codeFail, fmt.Sprintf("grpcdoor: encode %s: %v", typ, err)))
		typ = "ErrorResponse"
	}
	return &pb.Payload{Metadata: &pb.Metadata{Type: typ}, Body: &anypb.Any{Value: b}}
}
