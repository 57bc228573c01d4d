import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One member of a consumer group using the KIP-848 consumer protocol, for
 * compat/tests/test_groups_consumer_protocol.py.
 *
 * <pre>
 * WeirConsumerProtocol BOOTSTRAP TOPIC GROUP ASSIGNOR
 * </pre>
 * Subscribes with group.protocol=consumer and group.remote.assignor=ASSIGNOR and consumes until
 * "stop" arrives on stdin, then commits and closes. After every poll that returned records it
 * commits the positions synchronously, and before giving a partition up it commits the offset
 * after the last record it printed from it, so the next owner starts right there. Stdout, one event a
 * line, flushed at once:
 * <pre>
 * A  p,p,...          partitions added by a rebalance (onPartitionsAssigned)
 * R  p,p,...          partitions revoked (onPartitionsRevoked)
 * L  p,p,...          partitions lost (onPartitionsLost)
 * F  error            a commit the coordinator refused (the member was fenced meanwhile)
 * C  partition offset value    a consumed record
 * CLOSED
 * </pre>
 */
public class WeirConsumerProtocol {
    public static void main(String[] a) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a[0]);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, a[2]);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        p.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, a[3]);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 20);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        String topic = a[1];

        AtomicBoolean stop = new AtomicBoolean(false);
        Thread stdin = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.trim().equals("stop")) break;
                }
            } catch (Exception e) {
                // stdin closed: stop as well
            }
            stop.set(true);
        });
        stdin.setDaemon(true);
        stdin.start();

        // The offset after the last record printed, per partition. A revoked partition commits
        // this rather than consumer.position(): a partition assigned just before close() has no
        // position yet, and in close() the 3.9 consumer no longer sends the OffsetFetch that
        // position() would wait for (CommitRequestManager stops after signalClose), so
        // position() would block for default.api.timeout.ms. Nothing was read from such a
        // partition, so there is nothing to commit for it either.
        Map<TopicPartition, OffsetAndMetadata> consumed = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(Collections.singletonList(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    Map<TopicPartition, OffsetAndMetadata> positions = new HashMap<>();
                    for (TopicPartition tp : partitions) {
                        OffsetAndMetadata next = consumed.remove(tp);
                        if (next != null) positions.put(tp, next);
                    }
                    if (!positions.isEmpty()) commit(consumer, positions);
                    emit("R", partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    emit("A", partitions);
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    // Another member may own and advance them now: an old offset must not
                    // be committed for them later.
                    consumed.keySet().removeAll(partitions);
                    emit("L", partitions);
                }
            });
            while (!stop.get()) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
                if (records.isEmpty()) continue;
                StringBuilder out = new StringBuilder();
                Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    out.append("C\t").append(r.partition()).append('\t').append(r.offset()).append('\t')
                       .append(r.value()).append('\n');
                    next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                System.out.print(out);
                System.out.flush();
                consumed.putAll(next);
                commit(consumer, next);
            }
            commit(consumer, null);
        }
        System.out.println("CLOSED");
        System.out.flush();
    }

    /**
     * commitSync, reporting a refused commit ("F message") instead of dying: a member that was
     * fenced meanwhile (e.g. the broker restarted and forgot it) rejoins and goes on from the
     * last commit that succeeded, as a real application would.
     */
    private static void commit(KafkaConsumer<String, String> consumer,
                               Map<TopicPartition, OffsetAndMetadata> offsets) {
        try {
            if (offsets == null) consumer.commitSync();
            else consumer.commitSync(offsets);
        } catch (CommitFailedException | RebalanceInProgressException | FencedInstanceIdException e) {
            System.out.println("F\t" + e.getClass().getSimpleName() + ": " + e.getMessage());
            System.out.flush();
        }
    }

    private static synchronized void emit(String kind, Collection<TopicPartition> partitions) {
        List<Integer> ids = new ArrayList<>();
        for (TopicPartition tp : partitions) ids.add(tp.partition());
        Collections.sort(ids);
        StringBuilder line = new StringBuilder(kind).append('\t');
        for (int i = 0; i < ids.size(); i++) {
            if (i > 0) line.append(',');
            line.append(ids.get(i));
        }
        System.out.println(line);
        System.out.flush();
    }
}
