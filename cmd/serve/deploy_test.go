package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// inferenceService is the part of KServe's v1beta1 InferenceService the
// manifest uses; decoding it strictly makes any other field an error.
type inferenceService struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Predictor struct {
			MinReplicas *int32             `json:"minReplicas,omitempty"`
			MaxReplicas int32              `json:"maxReplicas,omitempty"`
			Containers  []corev1.Container `json:"containers"`
		} `json:"predictor"`
	} `json:"spec"`
}

// readManifests decodes deploy/kubernetes.yaml strictly (unknown fields
// are errors) into k8s.io/api types, and deploy/inferenceservice.yaml into
// the InferenceService's fields; it returns the serving containers.
func readManifests(t *testing.T) map[string]corev1.Container {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	containers := map[string]corev1.Container{}
	var dep *appsv1.Deployment
	var svc *corev1.Service
	for i, doc := range strings.Split(string(read("kubernetes.yaml")), "\n---\n") {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("kubernetes.yaml document %d: %v", i, err)
		}
		var err error
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			dep = &appsv1.Deployment{}
			err = yaml.UnmarshalStrict([]byte(doc), dep)
		case "v1 Service":
			svc = &corev1.Service{}
			err = yaml.UnmarshalStrict([]byte(doc), svc)
		default:
			t.Fatalf("kubernetes.yaml document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		if err != nil {
			t.Fatalf("kubernetes.yaml document %d (%s): %v", i, tm.Kind, err)
		}
	}
	if dep == nil || svc == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("kubernetes.yaml: want a Deployment of one container and a Service")
	}
	if !mapsEqual(dep.Spec.Selector.MatchLabels, dep.Spec.Template.Labels) || !mapsEqual(svc.Spec.Selector, dep.Spec.Template.Labels) {
		t.Errorf("selectors %v / %v do not match the pod's labels %v", dep.Spec.Selector.MatchLabels, svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	for _, p := range svc.Spec.Ports {
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.String() }) {
			t.Errorf("Service port %s targets %s, which the container does not name", p.Name, p.TargetPort.String())
		}
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g < 5+2+30 {
		t.Errorf("terminationGracePeriodSeconds %v: less than preStop 5 s + --drain 2 s + --shutdown-timeout 30 s", g)
	}
	containers["kubernetes.yaml"] = c

	var is inferenceService
	if err := yaml.UnmarshalStrict(read("inferenceservice.yaml"), &is); err != nil {
		t.Fatalf("inferenceservice.yaml: %v", err)
	}
	if is.APIVersion != "serving.kserve.io/v1beta1" || is.Kind != "InferenceService" || len(is.Spec.Predictor.Containers) != 1 || is.Spec.Predictor.Containers[0].Name != "kserve-container" {
		t.Fatalf("inferenceservice.yaml: %+v", is)
	}
	containers["inferenceservice.yaml"] = is.Spec.Predictor.Containers[0]
	return containers
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) > 0
}

// entrypoint returns deploy/Dockerfile's ENTRYPOINT arguments after the
// binary, and the files it copies into /models.
func entrypoint(t *testing.T) (args, models []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ENTRYPOINT \["/serve"(.*)\]$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("Dockerfile: no ENTRYPOINT [\"/serve\", ...]")
	}
	for _, a := range strings.Split(m[1], ",") {
		if a = strings.Trim(strings.TrimSpace(a), `"`); a != "" {
			args = append(args, a)
		}
	}
	cp := regexp.MustCompile(`(?m)^COPY (models/weights/\S+(?: models/weights/\S+)*) /models/$`).FindStringSubmatch(string(b))
	if cp == nil {
		t.Fatal("Dockerfile: no COPY of models/weights into /models/")
	}
	return args, strings.Fields(cp[1])
}

// The manifests in deploy/ decode strictly into Kubernetes' (and KServe's)
// types; their containers start the server with flags it accepts (after
// the image's entrypoint), on the ports they declare, serving the image's
// model repository (here a directory of the same files), and their probes
// answer 200 once ready. No cluster or container runtime runs here.
func TestDeployManifests(t *testing.T) {
	entry, files := entrypoint(t)
	repo := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for file, c := range readManifests(t) {
		t.Run(file, func(t *testing.T) {
			args := append(slices.Clone(entry), c.Args...)
			// The flags must parse as the server's own.
			flagVal := func(name string) string {
				i := slices.Index(args, name)
				if i < 0 || i+1 >= len(args) {
					return ""
				}
				return args[i+1]
			}
			if flagVal("--model-repository") != "/models" {
				t.Errorf("args %v: want --model-repository /models (the image's repository)", args)
			}
			ports := map[string]string{} // container port -> flag address
			ports[portOf(flagVal("--addr"))] = "--addr"
			if g := flagVal("--grpc-addr"); g != "" {
				ports[portOf(g)] = "--grpc-addr"
			}
			for _, p := range c.Ports {
				if ports[itoa(p.ContainerPort)] == "" {
					t.Errorf("container port %d is not the server's --addr or --grpc-addr (%v)", p.ContainerPort, args)
				}
			}
			probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
			var paths []string
			for kind, p := range probes {
				if p == nil {
					continue
				}
				if p.HTTPGet == nil {
					t.Fatalf("%s probe is not an HTTP GET", kind)
				}
				port := p.HTTPGet.Port.String()
				for _, cp := range c.Ports {
					if cp.Name == port {
						port = itoa(cp.ContainerPort)
					}
				}
				if ports[port] != "--addr" {
					t.Errorf("%s probe on port %s, not the HTTP --addr", kind, p.HTTPGet.Port.String())
				}
				paths = append(paths, p.HTTPGet.Path)
			}
			if len(paths) < 2 {
				t.Fatalf("want readiness and liveness probes: %v", paths)
			}
			args[slices.Index(args, "/models")] = repo
			args[slices.Index(args, "--addr")+1] = "127.0.0.1:0"
			if i := slices.Index(args, "--grpc-addr"); i >= 0 {
				args[i+1] = "127.0.0.1:0"
			}
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serveMain(ctx, append(args, "--drain", "0"), &stdout, &stderr) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve %v: %v (stderr %q)", args, err, stderr.String())
				}
			}()
			var base string
			for start := time.Now(); base == "" && time.Since(start) < 20*time.Second; time.Sleep(10 * time.Millisecond) {
				if m := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(stdout.String()); m != nil {
					base = m[1]
				}
				select {
				case err := <-done:
					t.Fatalf("serve %v: %v: %s", args, err, stderr.String())
				default:
				}
			}
			for _, p := range paths {
				code := 0
				for start := time.Now(); code != 200 && time.Since(start) < 20*time.Second; time.Sleep(20 * time.Millisecond) {
					if resp, err := http.Get(base + p); err == nil {
						code = resp.StatusCode
						resp.Body.Close()
					}
				}
				if code != 200 {
					t.Errorf("probe %s: status %d", p, code)
				}
			}
			for _, model := range []string{"mlp", "convnet"} {
				if resp, err := http.Get(base + "/v2/models/" + model + "/ready"); err != nil || resp.StatusCode != 200 {
					t.Errorf("model %s of the repository not ready: %v", model, err)
				} else {
					resp.Body.Close()
				}
			}
		})
	}
}

func portOf(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	return addr[i+1:]
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
