package natsbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxObjectBytes is the largest object PutWeights stores: 256 MiB, the size at which object
// store puts were measured reliable. A larger checkpoint is refused, not split.
const MaxObjectBytes = 256 << 20

// ErrNoWeights is wrapped by LatestVersion's error when the bucket holds no version yet.
var ErrNoWeights = errors.New("no weights published")

// latestName is the object holding the newest complete version number, as decimal text.
const latestName = "latest"

// Put and get attempts on transient errors ("too many requests", "stalled", timeouts).
const (
	objectAttempts     = 4
	objectBackoffStart = 250 * time.Millisecond
	objectBackoffMax   = 4 * time.Second
)

// requestTimeout bounds one JetStream API request here (binding the bucket, an object's info,
// the latest pointer); one attempt at storing a version's tar gets putAttemptTimeout plus the
// time its bytes take at putBytesPerSecond (about a minute for the demo's few MiB). A healthy
// server answers a request in milliseconds, but one in flight when the server restarts is never
// answered: unbounded, it waited out the caller's whole deadline (the learner's two minutes per
// publish) instead of failing fast and being retried. Variables for the tests.
var (
	requestTimeout    = 10 * time.Second
	putAttemptTimeout = time.Minute
)

// putBytesPerSecond is the slowest upload an attempt's bound allows for (2 MiB/s).
const putBytesPerSecond = 2 << 20

var objectNameRE = regexp.MustCompile(`^v([0-9]{6,})$`)

// WeightsObjectName is the object holding version: "v000042" for 42.
func WeightsObjectName(version int) string { return fmt.Sprintf("v%06d", version) }

// WeightsOption changes what PutWeights stores.
type WeightsOption func(*weightsSettings)

type weightsSettings struct {
	exclude []string
}

// Exclude leaves out files whose base name or slash-separated path (relative to the folder)
// matches one of the path.Match patterns, e.g. Exclude("optimizer.safetensors", "*.jsonl"):
// actors need the weights, config and tokenizer, not the optimizer state.
func Exclude(patterns ...string) WeightsOption {
	return func(s *weightsSettings) { s.exclude = append(s.exclude, patterns...) }
}

// PutWeights stores the checkpoint at path (a folder, or a single file) as version in the
// object store bucket, creating the bucket if needed, and then moves the bucket's latest
// pointer to version unless it already points higher. Storing a version again replaces it.
// The folder goes in as one tar object (regular files and folders, symlinks followed); more
// than MaxObjectBytes is refused with an error wrapping ErrTooLarge. A put failing on a
// transient error is retried, and what a failed attempt left is deleted.
func PutWeights(ctx context.Context, js jetstream.JetStream, bucket string, version int, path string,
	opts ...WeightsOption) error {
	var s weightsSettings
	for _, o := range opts {
		o(&s)
	}
	name := WeightsObjectName(version)
	if version < 0 {
		return fmt.Errorf("natsbus: put weights: negative version %d", version)
	}
	entries, size, err := tarEntries(path, s.exclude)
	if err != nil {
		return fmt.Errorf("natsbus: put weights %s/%s: %w", bucket, name, err)
	}
	if size > MaxObjectBytes {
		return fmt.Errorf("natsbus: put weights %s/%s from %s: %d bytes as one tar: %w for the %d MiB object limit "+
			"(leave out what actors do not need, e.g. Exclude(\"optimizer.safetensors\"))",
			bucket, name, path, size, ErrTooLarge, MaxObjectBytes>>20)
	}
	obs, err := objectStore(ctx, js, bucket, true)
	if err != nil {
		return err
	}
	meta := jetstream.ObjectMeta{
		Name:        name,
		Description: "vrlaif policy weights (tar of a checkpoint folder)",
		Metadata: map[string]string{
			"vrlaif-version": strconv.Itoa(version),
			"format":         "tar",
			"files":          strconv.Itoa(len(entries)),
		},
	}
	err = withRetries(ctx, func(ctx context.Context) error {
		ictx, cancel := context.WithTimeout(ctx, requestTimeout)
		before, _ := obs.GetInfo(ictx, name, jetstream.GetObjectInfoShowDeleted())
		cancel()
		pctx, cancel := context.WithTimeout(ctx, putAttemptTimeout+time.Duration(size/putBytesPerSecond)*time.Second)
		defer cancel()
		err := putTar(pctx, obs, meta, entries)
		if err != nil {
			dropFailedPut(ctx, obs, name, before)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("natsbus: put weights %s/%s from %s: %w", bucket, name, path, err)
	}
	return setLatest(ctx, obs, bucket, version)
}

// putTar streams entries as a tar into the object name through a pipe.
func putTar(ctx context.Context, obs jetstream.ObjectStore, meta jetstream.ObjectMeta, entries []tarEntry) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := writeTar(pw, entries)
		pw.CloseWithError(err)
		done <- err
	}()
	_, err := obs.Put(ctx, meta, pr)
	pr.CloseWithError(errors.New("natsbus: put ended")) // unblocks the writer if Put stopped early
	if werr := <-done; werr != nil && err == nil {
		err = werr
	}
	return err
}

// dropFailedPut deletes what a failed Put left behind: nats.go publishes the object's meta
// entry before all chunk acks are back, so a failed put can leave a visible object whose
// chunks were purged. before is the object's info before the put (nil if none).
func dropFailedPut(ctx context.Context, obs jetstream.ObjectStore, name string, before *jetstream.ObjectInfo) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	after, err := obs.GetInfo(ctx, name)
	if err != nil || after == nil || (before != nil && after.NUID == before.NUID) {
		return
	}
	_ = obs.Delete(ctx, name)
}

// setLatest moves the latest pointer to version unless it points higher already. vrlaif has
// one learner, the only writer of weights, so read-then-write needs no compare-and-swap.
func setLatest(ctx context.Context, obs jetstream.ObjectStore, bucket string, version int) error {
	cur, err := readLatest(ctx, obs)
	switch {
	case err == nil && cur >= version:
		return nil
	case err != nil && !errors.Is(err, ErrNoWeights):
		return fmt.Errorf("natsbus: weights %s: %w", bucket, err)
	}
	err = withRetries(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		_, err := obs.PutBytes(ctx, latestName, []byte(strconv.Itoa(version)))
		return err
	})
	if err != nil {
		return fmt.Errorf("natsbus: weights %s: set latest to %d: %w", bucket, version, err)
	}
	return nil
}

func readLatest(ctx context.Context, obs jetstream.ObjectStore) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	b, err := obs.GetBytes(ctx, latestName)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, ErrNoWeights
	}
	if err != nil {
		return 0, fmt.Errorf("read latest: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("latest holds %q, not a version", b)
	}
	return v, nil
}

// LatestVersion returns the newest version PutWeights completed in bucket, or an error
// wrapping ErrNoWeights if there is none (or no bucket).
func LatestVersion(ctx context.Context, js jetstream.JetStream, bucket string) (int, error) {
	obs, err := objectStore(ctx, js, bucket, false)
	if err != nil {
		return 0, err
	}
	v, err := readLatest(ctx, obs)
	if err != nil {
		return 0, fmt.Errorf("natsbus: weights %s: %w", bucket, err)
	}
	return v, nil
}

// GetWeights unpacks version from bucket into the folder dstPath, which must not exist or be
// an empty folder. The files are written to a temporary folder beside dstPath, checked against
// the object's SHA-256, and renamed into place, so dstPath never holds half a checkpoint.
func GetWeights(ctx context.Context, js jetstream.JetStream, bucket string, version int, dstPath string) error {
	name := WeightsObjectName(version)
	obs, err := objectStore(ctx, js, bucket, false)
	if err != nil {
		return err
	}
	err = withRetries(ctx, func(ctx context.Context) error {
		res, err := obs.Get(ctx, name)
		if err != nil {
			return err
		}
		defer res.Close()
		return extractTar(res, dstPath)
	})
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("natsbus: get weights %s/%s: no such version: %w", bucket, name, err)
	}
	if err != nil {
		return fmt.Errorf("natsbus: get weights %s/%s: %w", bucket, name, err)
	}
	return nil
}

// Versions lists the versions stored in bucket, oldest first.
func Versions(ctx context.Context, js jetstream.JetStream, bucket string) ([]int, error) {
	obs, err := objectStore(ctx, js, bucket, false)
	if err != nil {
		return nil, err
	}
	infos, err := obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsbus: weights %s: list: %w", bucket, err)
	}
	var vs []int
	for _, info := range infos {
		if m := objectNameRE.FindStringSubmatch(info.Name); m != nil {
			v, _ := strconv.Atoi(m[1])
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// PruneWeights deletes all but the newest keep versions (never the latest one) and returns
// how many it deleted. Objects are only marked deleted and their chunks purged; a reader in
// the middle of getting a pruned version fails and should get a newer one.
func PruneWeights(ctx context.Context, js jetstream.JetStream, bucket string, keep int) (int, error) {
	vs, err := Versions(ctx, js, bucket)
	if err != nil || len(vs) <= keep {
		return 0, err
	}
	latest, err := LatestVersion(ctx, js, bucket)
	if err != nil && !errors.Is(err, ErrNoWeights) {
		return 0, err
	}
	obs, err := objectStore(ctx, js, bucket, false)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range vs[:len(vs)-max(keep, 0)] {
		if v == latest {
			continue
		}
		if err := obs.Delete(ctx, WeightsObjectName(v)); err != nil {
			return n, fmt.Errorf("natsbus: weights %s: delete %s: %w", bucket, WeightsObjectName(v), err)
		}
		n++
	}
	return n, nil
}

// objectStore binds to bucket, creating it (file storage) if create is set.
func objectStore(ctx context.Context, js jetstream.JetStream, bucket string, create bool) (jetstream.ObjectStore, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	obs, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if !create {
			return nil, fmt.Errorf("natsbus: weights bucket %s does not exist: %w: %w", bucket, ErrNoWeights, err)
		}
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      bucket,
			Description: "vrlaif policy weights, one tar object per version",
			Storage:     jetstream.FileStorage,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("natsbus: weights bucket %s: %w", bucket, err)
	}
	return obs, nil
}

// withRetries runs f up to objectAttempts times while it fails transiently.
func withRetries(ctx context.Context, f func(context.Context) error) error {
	bo := newBackoff(objectBackoffStart, objectBackoffMax)
	var err error
	for attempt := 1; attempt <= objectAttempts; attempt++ {
		if err = f(ctx); err == nil || !transient(err) || ctx.Err() != nil || attempt == objectAttempts {
			break
		}
		if bo.wait(ctx) != nil {
			break
		}
	}
	return err
}
