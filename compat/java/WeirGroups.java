import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Consumer-group steps for compat/tests/test_groups_java.py.
 *
 * <pre>
 * WeirGroups consume BOOTSTRAP TOPIC GROUP COUNT PROTOCOL TIMEOUT_MS
 * </pre>
 * Subscribes to TOPIC in GROUP (group.protocol PROTOCOL: classic or consumer), reads COUNT
 * records (or until the timeout), commits exactly the offsets after them with commitSync,
 * closes, and prints one "C partition offset value" line per record.
 */
public class WeirGroups {
    public static void main(String[] a) throws Exception {
        if (!a[0].equals("consume")) throw new IllegalArgumentException("unknown step " + a[0]);
        consume(a[1], a[2], a[3], Integer.parseInt(a[4]), a[5], Long.parseLong(a[6]));
    }

    private static void consume(String bootstrap, String topic, String group, int count, String protocol,
                                long timeoutMs) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        StringBuilder out = new StringBuilder();
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        int got = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(Collections.singletonList(topic));
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (got < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    got++;
                    out.append("C\t").append(r.partition()).append('\t').append(r.offset()).append('\t')
                       .append(r.value()).append('\n');
                    next.put(new TopicPartition(r.topic(), r.partition()),
                             new OffsetAndMetadata(r.offset() + 1, "weir-compat"));
                }
            }
            consumer.commitSync(next);
        }
        System.out.print(out);
    }
}
