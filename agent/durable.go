package agent

import (
	"encoding/hex"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-io/roster/durable"
	"github.com/roster-io/roster/internal/secret"
)

// openDurable opens the data directory (Config.DataDir), loads it into
// the node's store and attaches it as the store's journal. Without a data
// directory the node keeps everything in memory.
func (a *Agent) openDurable() error {
	if a.cfg.DataDir == "" {
		a.log.Info("no data directory: persistent instances and services live in memory only (--in-memory)")
		return nil
	}
	cluster := ""
	if s := a.cfg.secret(); s != nil {
		cluster = hex.EncodeToString(secret.Derive(s, "roster data directory")[:8])
	}
	db, err := durable.Open(durable.Config{Dir: a.cfg.DataDir, Node: a.cfg.Name, Cluster: cluster,
		TombstoneTTL: a.cfg.TombstoneTTL, Logger: a.cfg.Logger, Now: a.cfg.Now})
	if err != nil {
		return err
	}
	st := a.node.Store()
	l, err := db.Load(st)
	if err != nil {
		db.Close()
		return err
	}
	db.Attach(st)
	a.node.SetDurable(db)
	a.db = db
	a.log.Info("data directory loaded", "file", db.Path(), "persistent_instances", l.Instances, "services", l.Services,
		"tombstones", l.Tombstones)
	return a.reg.Register(durableCollector{db})
}

// closeDurable commits what is queued (flush) and closes the data file.
func (a *Agent) closeDurable(flush bool) error {
	if a.db == nil {
		return nil
	}
	var err error
	if flush {
		err = a.db.Flush()
	}
	if cerr := a.db.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("agent: data directory: %w", err)
	}
	return nil
}

var (
	durableCommitsDesc = prometheus.NewDesc("roster_durable_commits_total",
		"Transactions committed (fsynced) to the data file; each holds every write queued meanwhile.", nil, nil)
	durableRecordsDesc = prometheus.NewDesc("roster_durable_records_total",
		"Records written to the data file.", nil, nil)
	durableFailedDesc = prometheus.NewDesc("roster_durable_commit_failures_total",
		"Commits to the data file that failed (client writes waiting for them got 503).", nil, nil)
	durablePendingDesc = prometheus.NewDesc("roster_durable_pending_records",
		"Records queued for the next commit.", nil, nil)
)

// durableCollector exports the data file's counters.
type durableCollector struct{ db *durable.DB }

func (c durableCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- durableCommitsDesc
	ch <- durableRecordsDesc
	ch <- durableFailedDesc
	ch <- durablePendingDesc
}

func (c durableCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	ch <- prometheus.MustNewConstMetric(durableCommitsDesc, prometheus.CounterValue, float64(s.Commits))
	ch <- prometheus.MustNewConstMetric(durableRecordsDesc, prometheus.CounterValue, float64(s.Records))
	ch <- prometheus.MustNewConstMetric(durableFailedDesc, prometheus.CounterValue, float64(s.Failed))
	ch <- prometheus.MustNewConstMetric(durablePendingDesc, prometheus.GaugeValue, float64(s.Pending))
}
